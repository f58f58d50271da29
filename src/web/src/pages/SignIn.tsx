import { Button, Card, Field, Input, makeStyles, Text, tokens } from '@fluentui/react-components';
import { LockClosedRegular } from '@fluentui/react-icons';
import { type FormEvent, useState } from 'react';
import { type ApiClient, type SessionInfo, SignInError } from '../api/client';

const useStyles = makeStyles({
  page: { minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', backgroundColor: tokens.colorNeutralBackground3 },
  card: { width: '440px', padding: '28px' },
  brand: { color: tokens.colorBrandForeground1, fontWeight: tokens.fontWeightSemibold, fontSize: tokens.fontSizeBase500 },
  form: { display: 'flex', flexDirection: 'column', gap: '16px', marginTop: '12px' },
});

/**
 * Sign-in with the administrator token. The token goes to the server once;
 * what comes back is an HTTP-only session cookie this page cannot read.
 */
export function SignIn(props: { api: ApiClient; onSignedIn(s: SessionInfo): void }) {
  const s = useStyles();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await props.api.signIn(token);
      setToken('');
      // Browsers keep a Secure cookie only over HTTPS or on this machine (127.0.0.1, localhost).
      if (!(await props.api.session())) {
        setError('The server accepted the token, but the browser did not keep the secure session cookie. Open the admin center over HTTPS, or at http://127.0.0.1 or http://localhost on the server itself.');
        return;
      }
      props.onSignedIn(session);
    } catch (err) {
      setError(err instanceof SignInError ? err.message : 'The server could not be reached.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className={s.page}>
      <Card className={s.card}>
        <div>
          <div className={s.brand}>Interchange admin center</div>
          <Text size={200}>Exchange-style management of your transport servers</Text>
        </div>
        <form className={s.form} onSubmit={submit}>
          <h1 style={{ fontSize: 20, margin: 0 }}>Sign in</h1>
          <Field
            label="Administrator token"
            hint={
              <>
                Printed by <code>interchange serve</code> on first start, and kept in the data folder as <code>admin-token</code>.
              </>
            }
            validationMessage={error}
            validationState={error ? 'error' : 'none'}
            required
          >
            <Input type="password" value={token} onChange={(_, d) => setToken(d.value)} autoComplete="off" contentBefore={<LockClosedRegular />} />
          </Field>
          <Button appearance="primary" type="submit" disabled={busy || !token}>
            {busy ? 'Signing in…' : 'Sign in'}
          </Button>
        </form>
      </Card>
    </main>
  );
}
