import type { ConfirmImpact, WireError } from '../contract.js';
import type { DirectoryHealth } from '../../directory/directory-health.js';
import type { DirectoryStore } from '../../directory/directory-store.js';
import type { RoleGroup, ServerRecord } from '../../directory/records.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import type { KeyVault } from '../../security/key-vault.js';
import type { RedirectTarget } from '../../transport/routing/redirect.js';
import type { MailFlowSample } from '../../observability/mail-flow-statistics.js';

/** What a running transport service offers the cmdlet layer (queues, service control). */
export interface TransportServiceControl {
  readonly serverName: string;
  status(): 'Running' | 'Stopped' | 'StartPending' | 'StopPending';
  stop(): Promise<void>;
  start(): Promise<void>;
  /** For each `address:port` binding: `address:port Listening`, or why it is not (`Failed: …`, `Stopped`). */
  receiveBindingStatus?(bindings: readonly string[]): string[];
  /** Queue viewer; throws ICX_TRANSPORT_STOPPED while stopped. */
  queues?: QueueViewer;
  /** This server's record as the configuration in effect holds it (what answers while the directory cannot). */
  runningServer?(): ServerRecord;
  /** Resolves once every protocol log row and tracking event so far is in its file (the log-reading cmdlets read after it). */
  flushLogs?(): Promise<void>;
  /** Mail the server itself sends (alerts), queued and delivered through this transport as any message; resolves once queued. */
  submitSystemMessage?(message: { to: readonly string[]; subject: string; text: string }): Promise<void>;
  /** Test-Mailflow: one test message to another server of the organization; rejects with the reason it did not arrive. */
  testMailflow?(target: RedirectTarget, timeoutMs: number): Promise<{ latencyMs: number; reply: string }>;
}

/** The ring of mail flow samples of this server's transport. */
export interface MailFlowStatisticsReader {
  readonly intervalMs: number;
  readonly capacity: number;
  samples(sinceMs?: number): MailFlowSample[];
}

export interface QueueViewer {
  getQueues(): Promise<Array<Record<string, unknown>>>;
  getMessages(queueIdentity?: string): Promise<Array<Record<string, unknown>>>;
  retryQueue(identity: string): Promise<void>;
  suspendQueue(identity: string): Promise<void>;
  resumeQueue(identity: string): Promise<void>;
  suspendMessage(identity: string): Promise<void>;
  resumeMessage(identity: string): Promise<void>;
  removeMessage(identity: string, withNdr: boolean): Promise<void>;
  /** Export-Message: the message as queued (headers and body), when it is suspended or poisoned. */
  exportMessage(identity: string): Promise<Buffer>;
  /** Redirect-Message: moves every message of the delivery queues to a queue to another server; returns how many. */
  redirectMessages(target: RedirectTarget): Promise<number>;
}

/**
 * Everything a cmdlet may use, passed in explicitly. One instance per server
 * process; `localServer` is the server whose admin API received the call.
 */
export interface OrganizationServices {
  directory: DirectoryStore;
  /** Whether this server can reach the directory now, as its own calls found it. */
  directoryHealth?: DirectoryHealth;
  vault: KeyVault;
  localServer: string;
  clock: () => Date;
  /** The transport service of this process's server, when it runs one. */
  transport?: TransportServiceControl;
  /** This server's mail flow samples (Get-MailFlowStatistics), kept while its transport runs in this process. */
  mailFlow?: MailFlowStatisticsReader;
  /** Data folder of this server (protocol log defaults live under it). */
  dataDir: string;
}

export interface Caller {
  name: string;
  roleGroups: readonly RoleGroup[];
  /** The caller's bearer token, so a cmdlet can act on another server's admin API on the caller's behalf. */
  token?: string;
  /** The server that forwarded this call here on the caller's behalf (it may not be forwarded again). */
  forwardedBy?: string;
  /** The directory could not be reached: the credential is as this server last read it there. */
  checkedDuringOutage?: boolean;
  /**
   * How the call reached this server: over TLS, over plain HTTP from this host (loopback, which no
   * network carries), or over plain HTTP from another host. Set by the HTTP API for every call.
   */
  channel?: 'https' | 'loopback' | 'http';
}

const IMPACT_ORDER: Record<ConfirmImpact, number> = { None: 0, Low: 1, Medium: 2, High: 3 };

export interface ProcessingOptions {
  whatIf: boolean;
  confirmed: boolean;
  confirmPreference: ConfirmImpact;
  confirmSwitch: boolean;
  impact: ConfirmImpact;
  answers?: Record<string, boolean>;
}

/** The per-invocation view a cmdlet gets: services plus PowerShell's ShouldProcess, warnings and errors. */
export class CmdletContext {
  readonly warnings: string[] = [];
  readonly whatIfLines: string[] = [];
  readonly nonTerminatingErrors: WireError[] = [];
  /** The object the audit log records as modified. */
  objectModified: string | null = null;

  constructor(
    readonly services: OrganizationServices,
    readonly caller: Caller,
    readonly parameterSetName: string,
    private readonly processing: ProcessingOptions,
  ) {}

  get whatIf(): boolean {
    return this.processing.whatIf;
  }

  /**
   * PowerShell's ShouldProcess. Returns false under -WhatIf (after recording
   * the "What if:" line). When the caller has not confirmed and the impact
   * calls for it, throws ConfirmationRequired with the prompt text, before any
   * change, so the front end can ask and call again with `confirmed`.
   */
  shouldProcess(message: string, target: string): boolean {
    this.objectModified ??= target;
    if (this.processing.whatIf) {
      this.whatIfLines.push(`What if: ${message}`);
      return false;
    }
    const p = this.processing;
    const needsPrompt =
      p.confirmSwitch || (p.confirmPreference !== 'None' && IMPACT_ORDER[p.impact] >= IMPACT_ORDER[p.confirmPreference] && p.impact !== 'None');
    if (needsPrompt && !p.confirmed) {
      throw new InterchangeError('ICX_CONFIRMATION_REQUIRED', `Confirm\nAre you sure you want to perform this action?\n${message}`, {
        details: { confirmation: { caption: 'Confirm', query: message, target, kind: 'ShouldProcess' } },
      });
    }
    return true;
  }

  /**
   * PowerShell's ShouldContinue: a question whose answer changes what the
   * cmdlet does, not whether it runs. -Force answers Yes; otherwise the answer
   * must come from the caller in `answers[id]`.
   */
  shouldContinue(id: string, query: string): boolean {
    const answer = this.processing.answers?.[id];
    if (answer !== undefined) return answer;
    throw new InterchangeError('ICX_CONFIRMATION_REQUIRED', query, {
      details: { confirmation: { caption: 'Confirm', query, target: id, kind: 'ShouldContinue', id } },
    });
  }

  writeWarning(message: string): void {
    this.warnings.push(message);
  }

  writeError(error: InterchangeError): void {
    this.nonTerminatingErrors.push(error.toWire());
  }
}
