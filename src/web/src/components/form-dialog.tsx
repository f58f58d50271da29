import { Button, Dialog, DialogActions, DialogBody, DialogContent, DialogSurface, DialogTitle } from '@fluentui/react-components';
import type { FormEvent, ReactNode } from 'react';

/** A dialog whose body is a form; Enter submits, Escape cancels. */
export function FormDialog(props: {
  open: boolean;
  title: string;
  submitLabel: string;
  busy?: boolean;
  canSubmit?: boolean;
  wide?: boolean;
  onSubmit(): void;
  onClose(): void;
  children: ReactNode;
  footer?: ReactNode;
  /** For a dialog that only reports a result: one button that closes it. */
  hideCancel?: boolean;
}) {
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!props.busy) props.onSubmit();
  };
  return (
    <Dialog open={props.open} onOpenChange={(_, d) => !d.open && props.onClose()}>
      <DialogSurface style={{ maxWidth: props.wide ? 760 : 560 }}>
        <form onSubmit={submit}>
          <DialogBody>
            <DialogTitle>{props.title}</DialogTitle>
            <DialogContent style={{ display: 'flex', flexDirection: 'column', gap: 14 }}>{props.children}</DialogContent>
            <DialogActions>
              {props.footer}
              <Button appearance="primary" type="submit" disabled={props.busy || props.canSubmit === false}>
                {props.busy ? 'Working…' : props.submitLabel}
              </Button>
              {!props.hideCancel && (
                <Button type="button" onClick={props.onClose}>
                  Cancel
                </Button>
              )}
            </DialogActions>
          </DialogBody>
        </form>
      </DialogSurface>
    </Dialog>
  );
}
