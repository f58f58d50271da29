import { Button, Checkbox, Dialog, DialogActions, DialogBody, DialogContent, DialogSurface, DialogTitle, Dropdown, Field, Input, Option, Radio, RadioGroup, Text, tokens } from '@fluentui/react-components';
import { useState } from 'react';
import { fieldError, formError, useAdmin, useCmdlet } from '../api/admin-context';
import type { WireError } from '../api/client';
import { AddressSpaceEditor } from '../components/address-space-editor';
import { CmdletErrorBar } from '../components/common';
import { ServerListEditor } from '../components/server-list-editor';

const TYPES: Array<{ value: string; label: string; example: string }> = [
  { value: 'Custom', label: 'Custom', example: 'For example, to send mail to other non-Exchange servers.' },
  { value: 'Internal', label: 'Internal', example: 'For example, to send mail to your Edge server or another forest.' },
  { value: 'Internet', label: 'Internet', example: 'For example, to send mail to the internet.' },
  { value: 'Partner', label: 'Partner', example: 'For example, to send mail to trusted third-party servers (Domain Security).' },
];

const STEPS = ['Name and type', 'Network settings', 'Address space', 'Source server'];
// Which step shows the field a cmdlet error names.
const STEP_OF: Record<string, number> = { name: 0, usage: 0, dnsroutingenabled: 1, smarthosts: 1, smarthostauthmechanism: 1, useexternaldnsserversenabled: 1, addressspaces: 2, sourcetransportservers: 3 };

/** New-SendConnector, one page per decision as in EAC's wizard. */
export function NewSendConnectorWizard(props: { onClose(): void; onCreated(name: string): void }) {
  const run = useCmdlet();
  const { notify, session } = useAdmin();
  const [step, setStep] = useState(0);
  const [name, setName] = useState('');
  const [usage, setUsage] = useState('Custom');
  const [routing, setRouting] = useState<'mx' | 'smarthost'>('mx');
  const [smartHosts, setSmartHosts] = useState('');
  const [auth, setAuth] = useState('None');
  const [externalDns, setExternalDns] = useState(false);
  const [spaces, setSpaces] = useState<string[]>([]);
  const [servers, setServers] = useState<string[]>([session.server]);
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);

  const finish = async () => {
    setBusy(true);
    const res = await run('New-SendConnector', {
      Name: name,
      Usage: usage,
      DNSRoutingEnabled: routing === 'mx',
      SmartHosts: routing === 'smarthost' ? smartHosts.split(/[,;\s]+/).filter(Boolean) : undefined,
      SmartHostAuthMechanism: routing === 'smarthost' ? auth : undefined,
      UseExternalDNSServersEnabled: externalDns,
      AddressSpaces: spaces,
      SourceTransportServers: servers,
    });
    setBusy(false);
    if (!res.ok) {
      setError(res.error);
      const at = STEP_OF[res.error?.parameter?.toLowerCase() ?? ''];
      if (at !== undefined) setStep(at);
      return;
    }
    notify(`Send connector "${name}" created.`);
    props.onCreated(name);
  };

  const last = step === STEPS.length - 1;
  const fields = Object.keys(STEP_OF);
  return (
    <Dialog open onOpenChange={(_, d) => !d.open && props.onClose()}>
      <DialogSurface style={{ maxWidth: 680 }}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (last) void finish();
            else setStep(step + 1);
          }}
        >
          <DialogBody>
            <DialogTitle>New send connector</DialogTitle>
            <DialogContent style={{ display: 'flex', flexDirection: 'column', gap: 14, minHeight: 320 }}>
              <Text size={200} style={{ color: tokens.colorNeutralForeground2 }} aria-live="polite">
                Step {step + 1} of {STEPS.length}: {STEPS[step]}
              </Text>
              <CmdletErrorBar error={formError(error, fields)} />
              {step === 0 && (
                <>
                  <Field label="Name" required validationMessage={fieldError(error, 'Name')}>
                    <Input value={name} onChange={(_, d) => setName(d.value)} />
                  </Field>
                  <Field label="Type" validationMessage={fieldError(error, 'Usage')}>
                    <RadioGroup value={usage} onChange={(_, d) => setUsage(d.value)}>
                      {TYPES.map((t) => (
                        <Radio key={t.value} value={t.value} label={`${t.label} — ${t.example}`} />
                      ))}
                    </RadioGroup>
                  </Field>
                </>
              )}
              {step === 1 && (
                <>
                  <Field label="Network settings" validationMessage={fieldError(error, 'DNSRoutingEnabled')}>
                    <RadioGroup value={routing} onChange={(_, d) => setRouting(d.value as 'mx' | 'smarthost')}>
                      <Radio value="mx" label="MX record associated with recipient domain" />
                      <Radio value="smarthost" label="Route mail through smart hosts" />
                    </RadioGroup>
                  </Field>
                  <Checkbox label="Use the external DNS lookup settings on servers with transport roles" checked={externalDns} onChange={(_, d) => setExternalDns(!!d.checked)} />
                  {routing === 'smarthost' && (
                    <>
                      <Field label="Smart hosts" hint="FQDNs or IP addresses, separated by commas" validationMessage={fieldError(error, 'SmartHosts')}>
                        <Input value={smartHosts} onChange={(_, d) => setSmartHosts(d.value)} />
                      </Field>
                      <Field label="Smart host authentication" validationMessage={fieldError(error, 'SmartHostAuthMechanism')}>
                        <Dropdown value={auth} selectedOptions={[auth]} onOptionSelect={(_, d) => d.optionValue && setAuth(d.optionValue)}>
                          <Option value="None">None</Option>
                          <Option value="ExchangeServer">Exchange Server authentication</Option>
                          <Option value="ExternalAuthoritative">Externally secured</Option>
                        </Dropdown>
                      </Field>
                    </>
                  )}
                </>
              )}
              {step === 2 && <AddressSpaceEditor value={spaces} onChange={setSpaces} error={fieldError(error, 'AddressSpaces')} />}
              {step === 3 && <ServerListEditor value={servers} onChange={setServers} error={fieldError(error, 'SourceTransportServers')} />}
            </DialogContent>
            <DialogActions>
              <Button type="button" disabled={step === 0} onClick={() => setStep(step - 1)}>
                Back
              </Button>
              <Button appearance="primary" type="submit" disabled={busy || (step === 0 && !name.trim())}>
                {last ? (busy ? 'Working…' : 'Finish') : 'Next'}
              </Button>
              <Button type="button" onClick={props.onClose}>
                Cancel
              </Button>
            </DialogActions>
          </DialogBody>
        </form>
      </DialogSurface>
    </Dialog>
  );
}
