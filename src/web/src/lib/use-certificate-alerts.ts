import { useEffect, useState } from 'react';
import { useAdmin } from '../api/admin-context';
import { certificateAlerts, type CertificateAlert, type CertificateRow, type ConnectorRow } from './certificate-alerts';

/** Every server's certificates and the Send connectors, reloaded after each change made in the admin center. */
export function useCertificateAlerts(): { alerts: CertificateAlert[]; loaded: boolean } {
  const { api, changeCount } = useAdmin();
  const [state, setState] = useState<{ alerts: CertificateAlert[]; loaded: boolean }>({ alerts: [], loaded: false });
  useEffect(() => {
    let live = true;
    void (async () => {
      const servers = await api.invoke('Get-ExchangeServer', {});
      const connectors = await api.invoke('Get-SendConnector', {});
      if (!servers.ok || !connectors.ok) return;
      const certs: CertificateRow[] = [];
      for (const s of servers.output) {
        const r = await api.invoke('Get-ExchangeCertificate', { Server: String(s.Name) });
        if (r.ok) certs.push(...(r.output as unknown as CertificateRow[]));
      }
      if (live) setState({ alerts: certificateAlerts(certs, connectors.output as unknown as ConnectorRow[], new Date()), loaded: true });
    })();
    return () => {
      live = false;
    };
  }, [api, changeCount]);
  return state;
}
