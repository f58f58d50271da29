import { useEffect, useState } from 'react';
import { useAdmin } from '../api/admin-context';
import type { CertificateAlert } from './certificate-alerts';

const KIND: Record<string, CertificateAlert['kind']> = { Expired: 'expired', ExpiresSoon: 'expiring', MissingOnSourceServer: 'missing-on-source-server', RotationIncomplete: 'rotation-incomplete' };

/** Get-ExchangeCertificateAlert, reloaded after each change made in the admin center. The rules live in the cmdlet. */
export function useCertificateAlerts(): { alerts: CertificateAlert[]; loaded: boolean } {
  const { api, changeCount } = useAdmin();
  const [state, setState] = useState<{ alerts: CertificateAlert[]; loaded: boolean }>({ alerts: [], loaded: false });
  useEffect(() => {
    let live = true;
    void (async () => {
      const r = await api.invoke('Get-ExchangeCertificateAlert', {});
      if (!r.ok || !live) return;
      setState({
        loaded: true,
        alerts: r.output.map((a) => ({
          kind: KIND[String(a.Kind)] ?? 'expired',
          severity: a.Severity === 'Warning' ? 'warning' : 'error',
          server: String(a.Server),
          thumbprint: a.Thumbprint ? String(a.Thumbprint) : undefined,
          newThumbprint: a.NewThumbprint ? String(a.NewThumbprint) : undefined,
          connector: a.Connector ? String(a.Connector) : undefined,
          text: String(a.Message),
          command: a.Command ? String(a.Command) : undefined,
        })),
      });
    })();
    return () => {
      live = false;
    };
  }, [api, changeCount]);
  return state;
}
