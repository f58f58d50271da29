import {
  Button,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  makeStyles,
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Spinner,
  Text,
  tokens,
} from '@fluentui/react-components';
import type { ReactNode } from 'react';
import type { WireError } from '../api/client';

const useStyles = makeStyles({
  header: { display: 'flex', flexDirection: 'column', gap: '4px', marginBottom: '12px' },
  title: { fontSize: tokens.fontSizeBase600, lineHeight: tokens.lineHeightBase600, fontWeight: tokens.fontWeightSemibold, margin: 0 },
  description: { color: tokens.colorNeutralForeground2, maxWidth: '900px' },
  message: { whiteSpace: 'pre-wrap', wordBreak: 'break-word' },
  center: { padding: '24px', display: 'flex', justifyContent: 'center' },
});

export function PageHeader(props: { title: string; description?: ReactNode; children?: ReactNode }) {
  const s = useStyles();
  return (
    <header className={s.header}>
      <h1 className={s.title}>{props.title}</h1>
      {props.description && <Text className={s.description}>{props.description}</Text>}
      {props.children}
    </header>
  );
}

/** A cmdlet's error, word for word, with an optional next step. */
export function CmdletErrorBar(props: { error: WireError | undefined; title?: string; action?: ReactNode; onDismiss?: () => void }) {
  const s = useStyles();
  if (!props.error) return null;
  return (
    <MessageBar intent="error" layout="multiline" role="alert" data-error-code={props.error.code}>
      <MessageBarBody>
        <MessageBarTitle>{props.title ?? 'Error'}</MessageBarTitle>
        <span className={s.message} data-testid="cmdlet-error-message">
          {props.error.message}
        </span>
        {props.action && <div style={{ marginTop: 6 }}>{props.action}</div>}
      </MessageBarBody>
      {props.onDismiss && (
        <Button appearance="transparent" size="small" onClick={props.onDismiss} aria-label="Dismiss error">
          Dismiss
        </Button>
      )}
    </MessageBar>
  );
}

export function Loading(props: { label?: string }) {
  const s = useStyles();
  return (
    <div className={s.center}>
      <Spinner size="small" label={props.label ?? 'Loading…'} />
    </div>
  );
}

/** The page's own confirmation before a High-impact cmdlet (which is then sent with `confirmed`). */
export function ConfirmDialog(props: { open: boolean; title: string; text: ReactNode; confirmLabel: string; busy?: boolean; error?: WireError; errorAction?: ReactNode; onConfirm: () => void; onCancel: () => void }) {
  return (
    <Dialog open={props.open} modalType="alert" onOpenChange={(_, d) => !d.open && props.onCancel()}>
      <DialogSurface aria-describedby="confirm-dialog-text">
        <DialogBody>
          <DialogTitle>{props.title}</DialogTitle>
          <DialogContent>
            <div id="confirm-dialog-text" style={{ marginBottom: 12 }}>
              {props.text}
            </div>
            <CmdletErrorBar error={props.error} action={props.errorAction} />
          </DialogContent>
          <DialogActions>
            {!props.error && (
              <Button appearance="primary" onClick={props.onConfirm} disabled={props.busy}>
                {props.busy ? 'Working…' : props.confirmLabel}
              </Button>
            )}
            <Button appearance="secondary" onClick={props.onCancel}>
              {props.error ? 'Close' : 'Cancel'}
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}

/** A label/value pair of a details pane. */
export function Detail(props: { label: string; children: ReactNode; mono?: boolean }) {
  return (
    <div style={{ display: 'grid', gridTemplateColumns: '170px 1fr', gap: 8, padding: '5px 0', borderBottom: `1px solid ${tokens.colorNeutralStroke3}` }}>
      <dt style={{ color: tokens.colorNeutralForeground2, fontWeight: 600 }}>{props.label}</dt>
      <dd style={{ margin: 0, overflowWrap: 'anywhere', fontFamily: props.mono ? tokens.fontFamilyMonospace : undefined }}>{props.children}</dd>
    </div>
  );
}

export function formatDate(value: unknown): string {
  if (typeof value !== 'string' || !value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric' });
}

export function formatDateTime(value: unknown): string {
  if (typeof value !== 'string' || !value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toLocaleString('en-US', { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
export const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v ? [String(v)] : []);
