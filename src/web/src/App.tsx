import {
  Button,
  createLightTheme,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  FluentProvider,
  makeStyles,
  Toast,
  ToastTitle,
  Toaster,
  tokens,
  useId,
  useToastController,
  type BrandVariants,
} from '@fluentui/react-components';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { AdminContext, type AdminContextValue, type Question } from './api/admin-context';
import { ApiClient, type Catalog, type SessionInfo } from './api/client';
import { Loading } from './components/common';
import { Shell } from './Shell';
import { SignIn } from './pages/SignIn';

// Exchange's blue, so the admin center looks like the console administrators know.
const brand: BrandVariants = {
  10: '#020305', 20: '#0f1a2c', 30: '#122a4c', 40: '#133765', 50: '#12457f', 60: '#0f5399', 70: '#0b62b4', 80: '#0a6ed1',
  90: '#3d7fd6', 100: '#5a90db', 110: '#73a1e0', 120: '#8ab2e6', 130: '#a1c3eb', 140: '#b8d4f0', 150: '#cfe4f6', 160: '#e6f2fb',
};
const lightTheme = createLightTheme(brand);

const useStyles = makeStyles({ root: { minHeight: '100vh', backgroundColor: tokens.colorNeutralBackground2 } });

export function App() {
  const s = useStyles();
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [catalog, setCatalog] = useState<Catalog | undefined>();
  const api = useMemo(() => new ApiClient(() => setSession(null)), []);

  useEffect(() => {
    void api.session().then((x) => setSession(x ?? null), () => setSession(null));
  }, [api]);
  useEffect(() => {
    if (session) void api.catalog().then(setCatalog, () => undefined);
    else setCatalog(undefined);
  }, [api, session]);

  return (
    // Not styled itself: Fluent copies the provider's classes onto portal mount nodes.
    <FluentProvider theme={lightTheme}>
      <div className={s.root}>
      {session === undefined || (session && !catalog) ? (
        <Loading label="Connecting to the server…" />
      ) : session === null ? (
        <SignIn api={api} onSignedIn={setSession} />
      ) : (
        <SignedIn api={api} session={session} catalog={catalog!} />
      )}
      </div>
    </FluentProvider>
  );
}

function SignedIn(props: { api: ApiClient; session: SessionInfo; catalog: Catalog }) {
  const toasterId = useId('toaster');
  const { dispatchToast } = useToastController(toasterId);
  const [question, setQuestion] = useState<(Question & { resolve(v: boolean): void }) | undefined>();
  const [changeCount, setChangeCount] = useState(0);
  const questionRef = useRef(question);
  questionRef.current = question;

  const ask = useCallback((q: Question) => new Promise<boolean>((resolve) => setQuestion({ ...q, resolve })), []);
  const notify = useCallback(
    (text: string, intent: 'success' | 'error' | 'info' = 'success') =>
      dispatchToast(
        <Toast>
          <ToastTitle>{text}</ToastTitle>
        </Toast>,
        { intent, timeout: 4000 },
      ),
    [dispatchToast],
  );
  const changed = useCallback(() => setChangeCount((n) => n + 1), []);
  const value: AdminContextValue = useMemo(
    () => ({ api: props.api, session: props.session, catalog: props.catalog, ask, notify, changeCount, changed }),
    [props.api, props.session, props.catalog, ask, notify, changeCount, changed],
  );
  const answer = (v: boolean) => {
    questionRef.current?.resolve(v);
    setQuestion(undefined);
  };

  return (
    <AdminContext.Provider value={value}>
      <Shell />
      <Toaster toasterId={toasterId} position="top-end" />
      <Dialog open={!!question} modalType="alert">
        <DialogSurface aria-describedby="question-text">
          <DialogBody>
            <DialogTitle>{question?.title}</DialogTitle>
            <DialogContent>
              <div id="question-text" style={{ whiteSpace: 'pre-wrap' }}>
                {question?.text}
              </div>
            </DialogContent>
            <DialogActions>
              <Button appearance="primary" onClick={() => answer(true)}>
                {question?.yes}
              </Button>
              <Button onClick={() => answer(false)}>{question?.no}</Button>
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>
    </AdminContext.Provider>
  );
}

