import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import type { ApiClient, Catalog, CmdletObject, InvokeResponse, SessionInfo, WireError, WireValue } from './client';

export interface Question {
  title: string;
  text: string;
  yes: string;
  no: string;
}

export interface AdminContextValue {
  api: ApiClient;
  session: SessionInfo;
  catalog: Catalog;
  /** Asks the administrator a yes/no question in a dialog. */
  ask(q: Question): Promise<boolean>;
  /** Shows a short confirmation that something was done. */
  notify(text: string, intent?: 'success' | 'error' | 'info'): void;
  /** Bumped after every successful change, so views that summarize state (notifications) reload. */
  changeCount: number;
  changed(): void;
}

export const AdminContext = createContext<AdminContextValue | null>(null);

export function useAdmin(): AdminContextValue {
  const v = useContext(AdminContext);
  if (!v) throw new Error('useAdmin outside AdminContext');
  return v;
}

export function hasCmdlet(catalog: Catalog, name: string): boolean {
  return catalog.cmdlets.some((c) => c.name.toLowerCase() === name.toLowerCase());
}

/**
 * Runs cmdlets for a page. The cmdlet's own questions (ShouldContinue, e.g.
 * "Overwrite the existing default SMTP certificate?") are put to the
 * administrator and the call is repeated with the answer, as the shell does.
 */
export function useCmdlet() {
  const { api, ask, changed } = useAdmin();
  return useCallback(
    async (name: string, parameters: Record<string, WireValue | undefined>, options: { confirmed?: boolean } = {}): Promise<InvokeResponse> => {
      const answers: Record<string, boolean> = {};
      for (let round = 0; round < 5; round++) {
        const res = await api.invoke(name, parameters, { confirmed: options.confirmed, answers });
        const c = res.error?.confirmation;
        if (!res.ok && res.error?.code === 'ICX_CONFIRMATION_REQUIRED' && c?.kind === 'ShouldContinue' && c.id) {
          const [first, ...rest] = c.query.split('\n');
          answers[c.id] = await ask({ title: first, text: rest.join('\n').trim(), yes: 'Yes', no: 'No' });
          continue;
        }
        if (res.ok) changed();
        return res;
      }
      return { ok: false, cmdlet: name, output: [], warnings: [], whatIf: [], errors: [], error: { code: 'ICX_INTERNAL', category: 'NotSpecified', message: 'Too many questions from the cmdlet.' } };
    },
    [api, ask, changed],
  );
}

export interface Query<T> {
  data: T[] | undefined;
  error: WireError | undefined;
  loading: boolean;
  reload(): void;
}

/** Loads a Get-* cmdlet's output; `skip` leaves it idle (e.g. no server picked yet). */
export function useCmdletQuery<T = CmdletObject>(name: string, parameters: Record<string, WireValue | undefined>, options: { skip?: boolean; watchChanges?: boolean } = {}): Query<T> {
  const { api, changeCount } = useAdmin();
  const [state, setState] = useState<{ data?: T[]; error?: WireError; loading: boolean }>({ loading: !options.skip });
  const [tick, setTick] = useState(0);
  const key = JSON.stringify(parameters);
  const seq = useRef(0);
  useEffect(() => {
    if (options.skip) return;
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    void api.invoke(name, JSON.parse(key) as Record<string, WireValue>).then((res) => {
      if (mine !== seq.current) return;
      setState(res.ok ? { data: res.output as T[], loading: false } : { error: res.error, loading: false });
    });
  }, [api, name, key, tick, options.skip, options.watchChanges ? changeCount : 0]);
  return { data: state.data, error: state.error, loading: state.loading, reload: () => setTick((t) => t + 1) };
}

/** The message to show beside a form field, when the cmdlet's error names that parameter. */
export function fieldError(error: WireError | undefined, ...parameters: string[]): string | undefined {
  if (!error?.parameter) return undefined;
  return parameters.some((p) => p.toLowerCase() === error.parameter!.toLowerCase()) ? error.message : undefined;
}

/** The error to show above a form, when no field of the form is named by it. */
export function formError(error: WireError | undefined, fields: string[]): WireError | undefined {
  if (!error) return undefined;
  return error.parameter && fields.some((f) => f.toLowerCase() === error.parameter!.toLowerCase()) ? undefined : error;
}
