import {
  Badge,
  Button,
  DrawerBody,
  DrawerHeader,
  DrawerHeaderTitle,
  makeStyles,
  Menu,
  MenuItem,
  MenuList,
  MenuPopover,
  MenuTrigger,
  MessageBar,
  MessageBarBody,
  NavDrawer,
  NavDrawerBody,
  NavItem,
  NavSectionHeader,
  OverlayDrawer,
  Text,
  tokens,
} from '@fluentui/react-components';
import {
  AlertRegular,
  ArrowExportRegular,
  ArrowImportRegular,
  CertificateRegular,
  ClipboardTaskListLtrRegular,
  ContactCardRegular,
  DismissRegular,
  GlobeRegular,
  HomeRegular,
  MailArrowForwardRegular,
  MailInboxRegular,
  PersonRegular,
  ServerRegular,
  TextBulletListSquareRegular,
} from '@fluentui/react-icons';
import { type JSX, useEffect, useState } from 'react';
import { useAdmin } from './api/admin-context';
import { NavLink } from './components/nav-link';
import { useCertificateAlerts } from './lib/use-certificate-alerts';
import { AcceptedDomainsPage } from './pages/AcceptedDomains';
import { AuditLogPage } from './pages/AuditLog';
import { HomePage } from './pages/Home';
import { MailUsersPage } from './pages/MailUsers';
import { AcmePage } from './pages/AcmeCertificates';
import { CertificatesPage } from './pages/Certificates';
import { MessageTracePage } from './pages/MessageTrace';
import { QueuesPage } from './pages/Queues';
import { ReceiveConnectorsPage } from './pages/ReceiveConnectors';
import { SendConnectorsPage } from './pages/SendConnectors';
import { ServersPage } from './pages/Servers';
import { LANDING, navigate, ROUTES, useLocation } from './router';

const useStyles = makeStyles({
  frame: { display: 'grid', gridTemplateRows: '48px 1fr', gridTemplateColumns: '240px 1fr', height: '100vh' },
  top: {
    gridColumn: '1 / span 2',
    display: 'flex',
    alignItems: 'center',
    gap: '12px',
    padding: '0 12px 0 20px',
    backgroundColor: tokens.colorBrandBackground,
    color: tokens.colorNeutralForegroundOnBrand,
  },
  product: { fontSize: tokens.fontSizeBase400, fontWeight: tokens.fontWeightSemibold, color: tokens.colorNeutralForegroundOnBrand },
  server: { color: tokens.colorNeutralForegroundOnBrand },
  spacer: { flexGrow: 1 },
  topButton: { color: tokens.colorNeutralForegroundOnBrand, minWidth: 'auto' },
  nav: { height: '100%', borderRight: `1px solid ${tokens.colorNeutralStroke2}` },
  main: { overflow: 'auto', padding: '20px 28px', backgroundColor: tokens.colorNeutralBackground1 },
  alert: { marginBottom: '8px' },
});

const ICONS: Record<string, JSX.Element> = {
  '/': <HomeRegular />,
  '/recipients/contacts': <ContactCardRegular />,
  '/mail-flow/send-connectors': <ArrowExportRegular />,
  '/mail-flow/receive-connectors': <ArrowImportRegular />,
  '/mail-flow/accepted-domains': <GlobeRegular />,
  '/mail-flow/queues': <MailInboxRegular />,
  '/mail-flow/message-trace': <MailArrowForwardRegular />,
  '/servers/servers': <ServerRegular />,
  '/servers/certificates': <CertificateRegular />,
  '/compliance/admin-audit-log': <ClipboardTaskListLtrRegular />,
};

export function Shell() {
  const s = useStyles();
  const { session, api } = useAdmin();
  const { path } = useLocation();
  const current = ROUTES.find((r) => r.path === path) ?? LANDING;
  const { alerts } = useCertificateAlerts();
  const [notificationsOpen, setNotificationsOpen] = useState(false);
  useEffect(() => {
    document.title = `${current.title} - Interchange admin center`;
  }, [current.title]);

  const page = (() => {
    switch (current.path) {
      case '/mail-flow/receive-connectors':
        return <ReceiveConnectorsPage />;
      case '/mail-flow/accepted-domains':
        return <AcceptedDomainsPage />;
      case '/mail-flow/queues':
        return <QueuesPage />;
      case '/mail-flow/message-trace':
        return <MessageTracePage />;
      case '/servers/servers':
        return <ServersPage />;
      case '/servers/certificates':
        return <CertificatesPage alerts={alerts} />;
      case '/servers/acme':
        return <AcmePage />;
      case '/compliance/admin-audit-log':
        return <AuditLogPage />;
      case '/recipients/contacts':
        return <MailUsersPage />;
      case '/mail-flow/send-connectors':
        return <SendConnectorsPage />;
      default:
        return <HomePage alerts={alerts} />;
    }
  })();

  const sections = [...new Set(ROUTES.map((r) => r.section))];
  return (
    <div className={s.frame}>
      <header className={s.top}>
        <TextBulletListSquareRegular fontSize={20} aria-hidden />
        <span className={s.product}>Interchange admin center</span>
        <Text className={s.server} size={200}>
          connected to {session.server}
        </Text>
        <span className={s.spacer} />
        <Button
          className={s.topButton}
          appearance="transparent"
          icon={<AlertRegular />}
          aria-label={`Notifications: ${alerts.length}`}
          onClick={() => setNotificationsOpen(true)}
        >
          {alerts.length > 0 && (
            <Badge color="danger" size="small" aria-hidden>
              {alerts.length}
            </Badge>
          )}
        </Button>
        <Menu>
          <MenuTrigger disableButtonEnhancement>
            <Button className={s.topButton} appearance="transparent" icon={<PersonRegular />}>
              {session.name}
            </Button>
          </MenuTrigger>
          <MenuPopover>
            <MenuList>
              <MenuItem onClick={() => void api.signOut()}>Sign out</MenuItem>
            </MenuList>
          </MenuPopover>
        </Menu>
      </header>
      <NavDrawer open type="inline" selectedValue={current.path} className={s.nav} aria-label="Admin center navigation">
        <NavDrawerBody>
          {sections.map((section) => (
            <div key={section}>
              {section !== 'Home' && <NavSectionHeader>{section === 'Compliance' ? 'Compliance management' : section}</NavSectionHeader>}
              {ROUTES.filter((r) => r.section === section).map((r) => (
                <NavItem
                  key={r.path}
                  value={r.path}
                  href={r.path}
                  icon={ICONS[r.path]}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(r.path);
                  }}
                >
                  {r.title}
                </NavItem>
              ))}
            </div>
          ))}
        </NavDrawerBody>
      </NavDrawer>
      <main className={s.main} aria-label={current.title}>
        {page}
      </main>
      <OverlayDrawer position="end" open={notificationsOpen} onOpenChange={(_, d) => setNotificationsOpen(d.open)} aria-label="Notifications">
        <DrawerHeader>
          <DrawerHeaderTitle action={<Button appearance="subtle" aria-label="Close notifications" icon={<DismissRegular />} onClick={() => setNotificationsOpen(false)} />}>Notifications</DrawerHeaderTitle>
        </DrawerHeader>
        <DrawerBody>
          {alerts.length === 0 && <Text>Nothing needs your attention.</Text>}
          {alerts.map((a, i) => (
            <MessageBar key={i} intent={a.severity} layout="multiline" className={s.alert}>
              <MessageBarBody>
                {a.text}{' '}
                {a.kind === 'rotation-incomplete' ? (
                  <NavLink to={`/servers/certificates?server=${encodeURIComponent(a.server)}&thumbprint=${a.thumbprint ?? ''}&rotate=${a.newThumbprint ?? ''}`} onNavigate={() => setNotificationsOpen(false)}>
                    Finish the rotation
                  </NavLink>
                ) : (
                  <NavLink
                    to={a.connector ? `/mail-flow/send-connectors?open=${encodeURIComponent(a.connector)}&tab=delivery` : `/servers/certificates?server=${encodeURIComponent(a.server)}&thumbprint=${a.thumbprint ?? ''}`}
                    onNavigate={() => setNotificationsOpen(false)}
                  >
                    {a.connector ? 'Open the connector' : 'Show the certificate'}
                  </NavLink>
                )}
              </MessageBarBody>
            </MessageBar>
          ))}
        </DrawerBody>
      </OverlayDrawer>
    </div>
  );
}
