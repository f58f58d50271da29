import { Dropdown, Field, Input, Option, Radio, RadioGroup, Text } from '@fluentui/react-components';
import { useEffect, useRef, useState } from 'react';
import { useAdmin } from '../api/admin-context';
import type { CmdletObject } from '../api/client';
import { formatDate, str } from './common';
import { namedBy, tlsCertificateNameOf } from '../lib/certificate-alerts';

type Mode = 'none' | 'installed' | 'typed';

/**
 * TlsCertificateName: none, a certificate installed on the source servers (the
 * page builds `<I>issuer<S>subject` from it, as Microsoft's article does), or
 * a value the administrator types.
 */
export function TlsCertificateChooser(props: { value: string | null; sourceServers: string[]; onChange(v: string | null): void; error?: string }) {
  const { api } = useAdmin();
  const [certs, setCerts] = useState<CmdletObject[]>([]);
  const [mode, setMode] = useState<Mode>(props.value ? 'typed' : 'none');
  const [picked, setPicked] = useState<string | undefined>();
  const [typed, setTyped] = useState(props.value ?? '');
  // The certificates arrive after the dialog opens: a choice the administrator made meanwhile must stand.
  const touched = useRef(false);

  useEffect(() => {
    let live = true;
    void (async () => {
      const all: CmdletObject[] = [];
      for (const server of props.sourceServers) {
        const r = await api.invoke('Get-ExchangeCertificate', { Server: server });
        if (r.ok) all.push(...r.output.filter((c) => c.Status !== 'PendingRequest'));
      }
      if (!live) return;
      setCerts(all);
      // An existing value that names an installed certificate is shown as that choice.
      if (props.value && !touched.current) {
        const match = all.find((c) => namedBy(props.value!, { Issuer: str(c.Issuer), Subject: str(c.Subject) }));
        if (match) {
          setMode('installed');
          setPicked(`${str(match.Server)}\\${str(match.Thumbprint)}`);
        }
      }
    })();
    return () => {
      live = false;
    };
  }, [api, props.sourceServers.join(',')]);

  const key = (c: CmdletObject) => `${str(c.Server)}\\${str(c.Thumbprint)}`;
  const label = (c: CmdletObject) => `${str(c.FriendlyName) || str(c.Subject)} · ${str(c.Server)} · expires ${formatDate(c.NotAfter)} · ${str(c.Thumbprint).slice(0, 12)}…`;
  const choose = (k: string | undefined) => {
    touched.current = true;
    setPicked(k);
    const c = certs.find((x) => key(x) === k);
    if (c) props.onChange(tlsCertificateNameOf({ Issuer: str(c.Issuer), Subject: str(c.Subject) }));
  };

  return (
    <Field label="TLS certificate (TlsCertificateName)" validationMessage={props.error} validationState={props.error ? 'error' : 'none'}>
      <div style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
        <RadioGroup
          value={mode}
          aria-label="TLS certificate"
          onChange={(_, d) => {
            const m = d.value as Mode;
            touched.current = true;
            setMode(m);
            if (m === 'none') props.onChange(null);
            if (m === 'typed') props.onChange(typed || null);
            if (m === 'installed') choose(picked);
          }}
        >
          <Radio value="none" label="None: pick a certificate by the connector's FQDN" />
          <Radio value="installed" label="A certificate installed on the source servers" />
          <Radio value="typed" label="Type the value (<I>issuer<S>subject)" />
        </RadioGroup>
        {mode === 'installed' && (
          <Dropdown aria-label="Installed certificate" placeholder="Choose a certificate" value={certs.find((c) => key(c) === picked) ? label(certs.find((c) => key(c) === picked)!) : ''} selectedOptions={picked ? [picked] : []} onOptionSelect={(_, d) => choose(d.optionValue)}>
            {certs.map((c) => (
              <Option key={key(c)} value={key(c)} text={label(c)}>
                {label(c)}
              </Option>
            ))}
          </Dropdown>
        )}
        {mode === 'typed' && (
          <Input
            aria-label="TlsCertificateName value"
            value={typed}
            onChange={(_, d) => {
              touched.current = true;
              setTyped(d.value);
              props.onChange(d.value || null);
            }}
          />
        )}
        {props.value && (
          <Text size={200} font="monospace" style={{ wordBreak: 'break-all' }}>
            {props.value}
          </Text>
        )}
      </div>
    </Field>
  );
}
