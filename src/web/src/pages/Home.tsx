import { Dropdown, Field, makeStyles, MessageBar, MessageBarBody, Option, Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Toolbar, ToolbarButton, tokens } from '@fluentui/react-components';
import { ArrowClockwiseRegular } from '@fluentui/react-icons';
import { useEffect, useMemo, useRef, useState } from 'react';
import { hasCmdlet, useAdmin, useCmdletQuery } from '../api/admin-context';
import type { CmdletObject, WireError } from '../api/client';
import { CmdletErrorBar, formatDate, Loading, PageHeader, str } from '../components/common';
import { type ChartPoint, MailFlowChart } from '../components/mail-flow-chart';
import { NavLink } from '../components/nav-link';
import { ServerPicker } from '../components/server-picker';
import type { CertificateAlert } from '../lib/certificate-alerts';

const useStyles = makeStyles({
  controls: { display: 'flex', gap: '24px', alignItems: 'end', flexWrap: 'wrap' },
  toolbar: { borderBottom: `1px solid ${tokens.colorNeutralStroke2}`, marginBottom: '12px' },
  charts: { display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(340px, 1fr))', gap: '16px', marginBottom: '20px' },
  section: { marginBottom: '20px' },
  h2: { fontSize: tokens.fontSizeBase400, fontWeight: tokens.fontWeightSemibold, margin: '0 0 6px 0' },
  mono: { fontFamily: tokens.fontFamilyMonospace, overflowWrap: 'anywhere' },
  expired: { color: tokens.colorPaletteRedForeground1, fontWeight: tokens.fontWeightSemibold },
});

const HOURS = ['1', '6', '24'];
/** How often the page reads the statistics again on its own (they are sampled once a minute). */
const REFRESH_MS = 30_000;
const DAY_MS = 86_400_000;
/** How many of the soonest-expiring certificates the dashboard lists. */
const CERTIFICATES_SHOWN = 5;

/** Get-ExchangeCertificate on every server of the organization, soonest NotAfter first. */
function useExpiringCertificates(servers: string[], tick: number): { certificates: CmdletObject[]; error?: WireError; loaded: boolean } {
  const { api, changeCount } = useAdmin();
  const [state, setState] = useState<{ certificates: CmdletObject[]; error?: WireError; loaded: boolean }>({ certificates: [], loaded: false });
  const key = servers.join(',');
  useEffect(() => {
    if (!key) return;
    let live = true;
    void (async () => {
      const all: CmdletObject[] = [];
      let error: WireError | undefined;
      for (const server of key.split(',')) {
        const r = await api.invoke('Get-ExchangeCertificate', { Server: server });
        if (r.ok) all.push(...r.output.filter((c) => typeof c.NotAfter === 'string' && c.NotAfter));
        else error ??= r.error;
      }
      all.sort((a, b) => Date.parse(str(a.NotAfter)) - Date.parse(str(b.NotAfter)));
      if (live) setState({ certificates: all.slice(0, CERTIFICATES_SHOWN), error, loaded: true });
    })();
    return () => {
      live = false;
    };
  }, [api, key, changeCount, tick]);
  return state;
}

function daysLeft(notAfter: unknown, now: number): number {
  return Math.floor((Date.parse(str(notAfter)) - now) / DAY_MS);
}

export function HomePage(props: { alerts: CertificateAlert[] }) {
  const s = useStyles();
  const { catalog } = useAdmin();
  const [server, setServer] = useState<string>();
  const [hours, setHours] = useState('6');
  const [tick, setTick] = useState(0);
  const available = hasCmdlet(catalog, 'Get-MailFlowStatistics');
  const statistics = useCmdletQuery('Get-MailFlowStatistics', { Server: server, Hours: Number(hours) }, { skip: !server || !available });
  const servers = useCmdletQuery('Get-ExchangeServer', {});
  const names = useMemo(() => (servers.data ?? []).map((x) => str(x.Name)), [servers.data]);
  const certificates = useExpiringCertificates(names, tick);
  const atRisk = props.alerts.filter((a) => a.connector);
  const now = Date.now();

  // The query's reload changes with every render; the timer calls the latest one and is set once.
  const reload = useRef(statistics.reload);
  reload.current = statistics.reload;
  useEffect(() => {
    const timer = setInterval(() => reload.current(), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  const points = useMemo<ChartPoint[]>(
    () =>
      (statistics.data ?? []).map((x) => ({
        t: Date.parse(str(x.Timestamp)),
        received: Number(x.ReceivedPerMinute ?? 0),
        sent: Number(x.SentPerMinute ?? 0),
        deferred: Number(x.DeferredPerMinute ?? 0),
        failed: Number(x.FailedPerMinute ?? 0),
        queue: Number(x.QueueLength ?? 0),
        oldest: Number(x.OldestMessageAgeSeconds ?? 0),
      })),
    [statistics.data],
  );

  return (
    <>
      <PageHeader title="Home" description="How mail flows through a server over the last hours, the certificates that expire soonest, and the Send connectors at risk.">
        <div className={s.controls}>
          <ServerPicker value={server} onChange={setServer} />
          <Field label="Show the last:" orientation="horizontal">
            <Dropdown value={`${hours} ${hours === '1' ? 'hour' : 'hours'}`} selectedOptions={[hours]} onOptionSelect={(_, d) => d.optionValue && setHours(d.optionValue)}>
              {HOURS.map((h) => (
                <Option key={h} value={h}>
                  {`${h} ${h === '1' ? 'hour' : 'hours'}`}
                </Option>
              ))}
            </Dropdown>
          </Field>
        </div>
      </PageHeader>
      <Toolbar aria-label="Dashboard actions" className={s.toolbar}>
        <ToolbarButton icon={<ArrowClockwiseRegular />} onClick={() => (statistics.reload(), setTick((t) => t + 1))}>
          Refresh
        </ToolbarButton>
      </Toolbar>

      <section aria-label="Mail flow">
        {!available ? (
          <MessageBar intent="info">
            <MessageBarBody>This server does not offer Get-MailFlowStatistics yet: the mail flow charts appear once it is updated.</MessageBarBody>
          </MessageBar>
        ) : statistics.error ? (
          <CmdletErrorBar error={statistics.error} title={`The mail flow of ${server ?? ''} cannot be shown`} />
        ) : statistics.loading && !statistics.data ? (
          <Loading />
        ) : (
          <div className={s.charts}>
            <MailFlowChart
              id="chart-messages"
              title={`Messages per minute on ${server ?? ''}`}
              valueLabel="messages per minute"
              unit=" per minute"
              points={points}
              series={[
                { key: 'received', name: 'Received', color: '#0f6cbd' },
                { key: 'sent', name: 'Sent', color: '#107c10' },
              ]}
            />
            <MailFlowChart
              id="chart-queue"
              title={`Delivery queues on ${server ?? ''}`}
              valueLabel="messages waiting"
              unit=" messages"
              points={points}
              series={[{ key: 'queue', name: 'Queue length', color: '#8764b8' }]}
            />
            <MailFlowChart
              id="chart-deferrals"
              title={`Deferrals and failures per minute on ${server ?? ''}`}
              valueLabel="delivery attempts per minute"
              unit=" per minute"
              points={points}
              series={[
                { key: 'deferred', name: 'Deferred', color: '#ca5010' },
                { key: 'failed', name: 'Failed', color: '#c50f1f' },
              ]}
            />
          </div>
        )}
      </section>

      <section aria-labelledby="home-certificates" className={s.section}>
        <h2 id="home-certificates" className={s.h2}>
          Certificates that expire soonest
        </h2>
        <CmdletErrorBar error={certificates.error} />
        {!certificates.loaded ? (
          <Loading />
        ) : certificates.certificates.length === 0 ? (
          <p>No certificate is installed on the servers of the organization.</p>
        ) : (
          <Table aria-labelledby="home-certificates" size="small">
            <TableHeader>
              <TableRow>
                <TableHeaderCell>Name</TableHeaderCell>
                <TableHeaderCell>Server</TableHeaderCell>
                <TableHeaderCell>Thumbprint</TableHeaderCell>
                <TableHeaderCell>Expires (NotAfter)</TableHeaderCell>
                <TableHeaderCell>Days left</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {certificates.certificates.map((c) => {
                const days = daysLeft(c.NotAfter, now);
                return (
                  <TableRow key={`${str(c.Server)}:${str(c.Thumbprint)}`}>
                    <TableCell>
                      <NavLink to={`/servers/certificates?server=${encodeURIComponent(str(c.Server))}&thumbprint=${str(c.Thumbprint)}`}>{str(c.FriendlyName) || str(c.Subject)}</NavLink>
                    </TableCell>
                    <TableCell>{str(c.Server)}</TableCell>
                    <TableCell className={s.mono}>{str(c.Thumbprint)}</TableCell>
                    <TableCell>{formatDate(c.NotAfter)}</TableCell>
                    <TableCell className={days < 0 ? s.expired : undefined}>{days < 0 ? `Expired ${-days} days ago` : String(days)}</TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        )}
      </section>

      <section aria-labelledby="home-connectors" className={s.section}>
        <h2 id="home-connectors" className={s.h2}>
          Connectors at risk
        </h2>
        {atRisk.length === 0 ? (
          <p>No Send connector is at risk: each one's TlsCertificateName selects a usable certificate on its source servers.</p>
        ) : (
          <Table aria-labelledby="home-connectors" size="small">
            <TableHeader>
              <TableRow>
                <TableHeaderCell>Connector</TableHeaderCell>
                <TableHeaderCell>Server</TableHeaderCell>
                <TableHeaderCell>Problem</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {atRisk.map((a, i) => (
                <TableRow key={i}>
                  <TableCell>
                    <NavLink to={`/mail-flow/send-connectors?open=${encodeURIComponent(a.connector!)}&tab=delivery`}>{a.connector}</NavLink>
                  </TableCell>
                  <TableCell>{a.server}</TableCell>
                  <TableCell>{a.text}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </section>
    </>
  );
}
