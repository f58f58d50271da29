export {
  BOM,
  CRLF,
  FIELDS,
  FILE_NAME_PATTERN,
  csvField,
  fileDatePart,
  fileName,
  formatDateTime,
  formatHeader,
  formatRow,
  joinMultilineReply,
  type ProtocolLogEvent,
  type ProtocolLogKind,
  type ProtocolLogRowInput,
} from './format.js';
export { PROTOCOL_LOG_DEFAULTS, ProtocolLogWriter, type ProtocolLogSettings, type ProtocolLogWriterOptions } from './writer.js';
export {
  ProtocolLogSession,
  SENDING_CERTIFICATE_CONTEXT,
  formatCertificateData,
  type CertificateLogFacts,
  type DisconnectReason,
  type ProtocolLogSessionOptions,
} from './session.js';
export { describeTlsNegotiation, type EphemeralKeyInfo, type TlsCipherInfo } from './tls-description.js';
export {
  findProtocolLogFolders,
  listProtocolLogFiles,
  parseCsvLine,
  parseProtocolLogText,
  readProtocolLogs,
  type ProtocolLogRow,
} from './reader.js';
export {
  collectSendingCertificates,
  latestSendingCertificates,
  parseSendingCertificateRow,
  readSendingCertificateRow,
  splitSubjectAndIssuer,
  type SendingCertificateRowReading,
  type LoggedCertificate,
  type PresentedCertificate,
} from './certificate-rows.js';
export { detectLogEncoding, readLogLines, type LogEncoding, type LogLine } from './log-encoding.js';
export { DECISIVE_EVIDENCE, decideLogKind, kindEvidence, kindFromLogType, type KindSource } from './log-kind.js';
export { describeReadReport, emptyReadReport, somethingSkipped, type ProtocolLogReadReport } from './read-report.js';
export { CertificateHistory, type CertificateUse, type CertificateRun } from './certificate-history.js';
