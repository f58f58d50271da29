// What the transport tells the message tracking log as mail moves. The
// transport calls track() on its hot paths: an implementation builds one line
// and buffers it, nothing more (the file is written by the rotating writer's
// drain loop, never synchronously).
import path from 'node:path';
import type { TransportServiceSettings } from '../../directory/records.js';
import { RotatingLogWriter, type RotatingLogSettings } from '../logging/rotating-log-writer.js';
import { encodeTrackingEvent, TRACKING_NAMING, type TrackingEvent } from './format.js';

export interface MessageTracking {
  /** False while MessageTrackingLogEnabled is $false: callers may skip building the event. */
  readonly enabled: boolean;
  track(event: TrackingEvent): void;
}

export const NO_MESSAGE_TRACKING: MessageTracking = { enabled: false, track: () => undefined };

export interface MessageTrackingSettings extends RotatingLogSettings {
  enabled: boolean;
  subjectLoggingEnabled: boolean;
}

/**
 * The tracking settings in effect, with Exchange's defaults (enabled, 30 days,
 * 1000 MB, 10 MB, subjects logged) for a server stored before they existed; its
 * folder is then Logs\MessageTracking beside the protocol logs' Logs\Hub.
 */
export function messageTrackingSettings(t: TransportServiceSettings): MessageTrackingSettings {
  return {
    enabled: t.messageTrackingLogEnabled ?? true,
    directory: t.messageTrackingLogPath ?? path.join(path.dirname(path.dirname(path.dirname(t.sendProtocolLogPath))), 'MessageTracking'),
    maxAge: t.messageTrackingLogMaxAge ?? 30 * 86_400_000,
    maxDirectorySize: (t.messageTrackingLogMaxDirectorySize === undefined ? 1000 * 1024 * 1024 : t.messageTrackingLogMaxDirectorySize) ?? 0,
    maxFileSize: (t.messageTrackingLogMaxFileSize === undefined ? 10 * 1024 * 1024 : t.messageTrackingLogMaxFileSize) ?? 0,
    subjectLoggingEnabled: t.messageTrackingLogSubjectLoggingEnabled ?? true,
  };
}

/** The message tracking log of one server: MSGTRK files in MessageTrackingLogPath. */
export class MessageTrackingLog implements MessageTracking {
  private readonly writer: RotatingLogWriter;
  private settings: MessageTrackingSettings;

  constructor(settings: MessageTrackingSettings, opts: { clock?: () => Date; onError?: (e: unknown) => void } = {}) {
    this.settings = settings;
    this.writer = new RotatingLogWriter({ ...settings, naming: TRACKING_NAMING, name: 'message tracking log', clock: opts.clock, onError: opts.onError });
  }

  get enabled(): boolean {
    return this.settings.enabled;
  }

  track(event: TrackingEvent): void {
    if (!this.settings.enabled) return;
    const row = encodeTrackingEvent(event, this.settings.subjectLoggingEnabled);
    const at = this.writer.nowMs();
    const space = this.writer.reserve(at, row.room);
    if (space) this.writer.endRow(space, row.write(space.buf, space.used, at));
  }

  /** Set-TransportService changes: for events tracked after the call. */
  updateSettings(settings: MessageTrackingSettings): void {
    this.settings = settings;
    const { enabled: _e, subjectLoggingEnabled: _s, ...files } = settings;
    this.writer.updateSettings(files);
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}
