import { useEffect, useState } from 'react';

export interface RouteInfo {
  path: string;
  title: string;
  section: 'Home' | 'Recipients' | 'Mail flow' | 'Servers' | 'Compliance';
}

export const ROUTES: RouteInfo[] = [
  { path: '/', title: 'Home', section: 'Home' },
  { path: '/recipients/contacts', title: 'Contacts', section: 'Recipients' },
  { path: '/mail-flow/send-connectors', title: 'Send connectors', section: 'Mail flow' },
  { path: '/mail-flow/receive-connectors', title: 'Receive connectors', section: 'Mail flow' },
  { path: '/mail-flow/accepted-domains', title: 'Accepted domains', section: 'Mail flow' },
  { path: '/mail-flow/queues', title: 'Queues', section: 'Mail flow' },
  { path: '/mail-flow/message-trace', title: 'Message trace', section: 'Mail flow' },
  { path: '/servers/servers', title: 'Servers', section: 'Servers' },
  { path: '/servers/certificates', title: 'Certificates', section: 'Servers' },
  { path: '/servers/acme', title: 'ACME', section: 'Servers' },
  { path: '/compliance/admin-audit-log', title: 'Admin audit log', section: 'Compliance' },
];

/** Where the admin center opens: the dashboard, how mail flows and what is at risk. */
export const LANDING = ROUTES.find((r) => r.path === '/')!;

export function navigate(path: string) {
  if (window.location.pathname + window.location.search !== path) window.history.pushState(null, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** The current path and query, following back/forward. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const [loc, setLoc] = useState(() => ({ path: window.location.pathname, search: window.location.search }));
  useEffect(() => {
    const on = () => setLoc({ path: window.location.pathname, search: window.location.search });
    window.addEventListener('popstate', on);
    return () => window.removeEventListener('popstate', on);
  }, []);
  return { path: loc.path, query: new URLSearchParams(loc.search) };
}
