import type { ErrorCategory } from '../cmdlets/contract.js';

interface CatalogEntry {
  category: ErrorCategory;
  httpStatus: number;
  /** What the code means, for documentation. */
  summary: string;
}

/**
 * Every failure Interchange reports, declared once. Codes are stable: tests,
 * the HTTP API and the documentation refer to them. Transport reply codes live
 * with the SMTP session code, since they are protocol, not management, errors.
 */
export const ERROR_CATALOG = {
  // Parameter binding (the cmdlet layer's own checks)
  ICX_PARAM_UNKNOWN: { category: 'InvalidArgument', httpStatus: 400, summary: 'A parameter name matches no parameter of the cmdlet.' },
  ICX_PARAM_AMBIGUOUS: { category: 'InvalidArgument', httpStatus: 400, summary: 'A parameter prefix matches several parameters.' },
  ICX_PARAM_MISSING: { category: 'InvalidArgument', httpStatus: 400, summary: 'A mandatory parameter was not given.' },
  ICX_PARAM_CONVERSION: { category: 'InvalidArgument', httpStatus: 400, summary: 'A value cannot be converted to the parameter type.' },
  ICX_PARAM_SET_AMBIGUOUS: { category: 'InvalidArgument', httpStatus: 400, summary: 'The parameters given match no single parameter set.' },
  ICX_PARAM_POSITIONAL: { category: 'InvalidArgument', httpStatus: 400, summary: 'A positional argument has no parameter to bind to.' },
  ICX_PARAM_DUPLICATE: { category: 'InvalidArgument', httpStatus: 400, summary: 'A parameter was given twice.' },
  ICX_PARAM_INVALID: { category: 'InvalidArgument', httpStatus: 400, summary: 'A value is out of range or of the wrong form.' },
  ICX_CMDLET_UNKNOWN: { category: 'ObjectNotFound', httpStatus: 404, summary: 'No cmdlet of that name.' },
  ICX_CONFIRMATION_REQUIRED: { category: 'OperationStopped', httpStatus: 409, summary: 'The cmdlet needs confirmation before it acts.' },

  // Authentication and authorization
  ICX_AUTH_REQUIRED: { category: 'AuthenticationError', httpStatus: 401, summary: 'No valid credential was presented.' },
  ICX_ACCESS_DENIED: { category: 'PermissionDenied', httpStatus: 403, summary: 'The caller lacks the role the cmdlet needs.' },
  ICX_LAST_ORGANIZATION_ADMIN: { category: 'InvalidOperation', httpStatus: 409, summary: 'The change would leave no valid credential in Organization Management.' },
  ICX_REQUEST_INVALID: { category: 'InvalidArgument', httpStatus: 400, summary: 'The HTTP request is not a well-formed cmdlet invocation (JSON body, shape or nesting).' },
  ICX_SIGNIN_RATE_LIMITED: { category: 'PermissionDenied', httpStatus: 429, summary: 'Too many failed sign-ins.' },

  // Directory
  ICX_OBJECT_NOT_FOUND: { category: 'ObjectNotFound', httpStatus: 404, summary: 'The identity matches no object.' },
  ICX_OBJECT_EXISTS: { category: 'ResourceExists', httpStatus: 409, summary: 'An object of that name already exists.' },
  ICX_SERVER_NOT_FOUND: { category: 'ObjectNotFound', httpStatus: 404, summary: 'No server of that name in the organization.' },
  ICX_DIRECTORY_UNAVAILABLE: { category: 'ResourceUnavailable', httpStatus: 503, summary: 'The directory store cannot be reached.' },
  ICX_DIRECTORY_SCHEMA_NEWER: { category: 'InvalidOperation', httpStatus: 409, summary: 'A newer Interchange upgraded the directory\'s schema; this older one refuses to run on it.' },

  // Recipients
  ICX_PASSWORD_WEAK: { category: 'InvalidArgument', httpStatus: 400, summary: 'The password is empty or does not meet the complexity requirements.' },

  // Accepted domains and Receive connector permissions
  ICX_ACCEPTED_DOMAIN_DEFAULT: { category: 'InvalidOperation', httpStatus: 409, summary: 'The default accepted domain cannot be removed while others exist.' },
  ICX_REMOTE_DOMAIN_DEFAULT: { category: 'InvalidOperation', httpStatus: 409, summary: 'The remote domain Default (DomainName *) cannot be removed or renamed.' },
  ICX_PERMISSION_FROM_GROUP: { category: 'InvalidOperation', httpStatus: 409, summary: 'A Receive connector permission comes from a permission group and is changed with PermissionGroups, not Remove-ADPermission.' },
  ICX_ADDRESS_IN_USE: { category: 'ResourceExists', httpStatus: 409, summary: 'Another mail user already has that e-mail address.' },

  // Certificates
  ICX_CERT_NOT_FOUND: { category: 'ObjectNotFound', httpStatus: 404, summary: 'No certificate with that thumbprint on the server.' },
  ICX_CERT_IN_USE_INTERNAL_TRANSPORT: { category: 'InvalidOperation', httpStatus: 409, summary: 'The certificate is the internal transport certificate.' },
  ICX_CERT_IN_USE_SEND_CONNECTOR: { category: 'InvalidOperation', httpStatus: 409, summary: 'A Send connector names the certificate in TlsCertificateName.' },
  ICX_CERT_EXISTS: { category: 'ResourceExists', httpStatus: 409, summary: 'A certificate with that thumbprint is already installed.' },
  ICX_CERT_DATA_CORRUPT: { category: 'InvalidData', httpStatus: 400, summary: 'The certificate data cannot be parsed.' },
  ICX_CERT_WRONG_PASSWORD: { category: 'InvalidData', httpStatus: 400, summary: 'The PKCS#12 password is wrong.' },
  ICX_CERT_NO_PRIVATE_KEY: { category: 'InvalidOperation', httpStatus: 409, summary: 'The operation needs a private key the certificate lacks.' },
  ICX_CERT_NOT_EXPORTABLE: { category: 'InvalidOperation', httpStatus: 409, summary: 'The private key is not exportable.' },
  ICX_CERT_KEY_MISMATCH: { category: 'InvalidData', httpStatus: 400, summary: 'The private key does not belong to the certificate.' },
  ICX_CERT_SERVICE_INVALID: { category: 'InvalidArgument', httpStatus: 400, summary: 'A service cannot be assigned by this cmdlet.' },
  ICX_CERT_NOT_SMTP: { category: 'InvalidOperation', httpStatus: 409, summary: 'The matching certificate is not enabled for SMTP.' },
  ICX_CERT_ROTATION_FAILED: { category: 'InvalidOperation', httpStatus: 409, summary: 'A certificate rotation could not be completed and was rolled back.' },

  // ACME (RFC 8555) issuance
  ICX_ACME_ACCOUNT_MISSING: { category: 'ObjectNotFound', httpStatus: 404, summary: 'The organization has no ACME account: create one with New-AcmeAccount.' },
  ICX_ACME_CA_REFUSED: { category: 'InvalidOperation', httpStatus: 502, summary: "The ACME certification authority refused a request; the error carries the CA's problem type and detail (RFC 8555 §6.7)." },
  ICX_ACME_DIRECTORY_UNREACHABLE: { category: 'ConnectionError', httpStatus: 502, summary: 'The ACME directory URL cannot be reached, its HTTPS certificate is not trusted, or it answers with something that is not an ACME directory.' },
  ICX_ACME_CHALLENGE_FAILED: { category: 'InvalidOperation', httpStatus: 502, summary: 'The certification authority could not validate a name: its http-01 check of the server failed, with the CA\'s problem detail.' },
  ICX_ACME_DNS_UPDATE_MISSING: { category: 'InvalidOperation', httpStatus: 409, summary: 'A dns-01 request needs the DNS update server of the ACME account: Set-AcmeAccount -DnsUpdateServer with its TSIG key.' },
  ICX_ACME_DNS_UPDATE_REFUSED: { category: 'InvalidOperation', httpStatus: 502, summary: 'The DNS update server refused a dynamic update (RFC 2136) or a query for the dns-01 challenge; the error names its RCODE (NOTAUTH for a key it does not accept, REFUSED, NOTZONE) and TSIG error.' },
  ICX_ACME_DNS_UPDATE_UNREACHABLE: { category: 'ConnectionError', httpStatus: 502, summary: 'The DNS update server of the dns-01 challenge cannot be reached or did not answer in time.' },
  ICX_ACME_DNS_UPDATE_UNVERIFIED: { category: 'InvalidData', httpStatus: 502, summary: "The DNS update server's answer is not signed with the TSIG key, or its signature does not verify." },
  ICX_ACME_RENEWAL_IN_PROGRESS: { category: 'ResourceUnavailable', httpStatus: 409, summary: 'A renewal of this ACME certificate is under way (on another server of the organization, or already on this one) and holds its lease; Get-AcmeCertificate shows the outcome.' },

  // Connectors
  ICX_CONNECTOR_INVALID: { category: 'InvalidArgument', httpStatus: 400, summary: 'The connector settings break one of Exchange\'s rules.' },
  ICX_TLS_CERT_NAME_INVALID: { category: 'InvalidArgument', httpStatus: 400, summary: 'TlsCertificateName is not a valid certificate identifier.' },

  // Transport service
  ICX_TRANSPORT_STOPPED: { category: 'ResourceUnavailable', httpStatus: 503, summary: 'The transport service on the server is stopped.' },
  ICX_TRANSPORT_UNREACHABLE: { category: 'ConnectionError', httpStatus: 502, summary: 'The server\'s admin endpoint cannot be reached.' },
  ICX_ADVERTISE_URL_INVALID: { category: 'InvalidArgument', httpStatus: 400, summary: 'The address given with --advertise-url cannot reach this server\'s admin API.' },
  ICX_SERVER_CALL_LOOP: { category: 'InvalidOperation', httpStatus: 508, summary: 'A call between servers would go back to a server it came from, or be forwarded a second time.' },
  ICX_SERVER_MISMATCH: { category: 'ConnectionError', httpStatus: 502, summary: 'The address a server advertises is answered by another server; nothing was run.' },
  ICX_SERVICE_NOT_FOUND: { category: 'ObjectNotFound', httpStatus: 404, summary: 'No service of that name.' },
  ICX_QUEUE_NOT_FOUND: { category: 'ObjectNotFound', httpStatus: 404, summary: 'No queue of that identity.' },
  ICX_MESSAGE_NOT_FOUND: { category: 'ObjectNotFound', httpStatus: 404, summary: 'No message of that identity.' },
  ICX_MESSAGE_NOT_SUSPENDED: { category: 'InvalidOperation', httpStatus: 409, summary: 'Export-Message copies only a suspended message (or one in the Poison queue): run Suspend-Message first, as in Exchange.' },
  ICX_QUEUE_OPERATION_INVALID: { category: 'InvalidOperation', httpStatus: 409, summary: 'The queue cannot be acted on as a whole: the Poison queue is never retried, suspended or resumed; release or remove its messages one by one.' },
  ICX_REDIRECT_TARGET_INVALID: { category: 'InvalidArgument', httpStatus: 400, summary: 'Redirect-Message cannot send a server\'s mail to that target: it is the server itself, or it has no internal transport certificate or default Receive connector.' },
  ICX_PROTOCOL_LOG_UNREADABLE: { category: 'InvalidData', httpStatus: 400, summary: 'A protocol log file cannot be read.' },

  // Start-up of a server process (`interchange serve`)
  ICX_SERVER_RUNNING: { category: 'InvalidOperation', httpStatus: 409, summary: 'The server to remove is still running (its heartbeat is fresh), or is the server the caller is connected to.' },
  ICX_SERVER_ONLY_SOURCE: { category: 'InvalidOperation', httpStatus: 409, summary: 'The server to remove is the only source server of a Send connector.' },
  ICX_SERVER_ALREADY_RUNNING: { category: 'ResourceExists', httpStatus: 409, summary: 'Another process already runs this server; a server name is one process at a time.' },
  ICX_DATA_FOLDER_INVALID: { category: 'InvalidArgument', httpStatus: 400, summary: 'The data folder is not a folder, or cannot be created where it was asked for.' },
  ICX_DATA_FOLDER_NOT_WRITABLE: { category: 'PermissionDenied', httpStatus: 403, summary: 'The data folder cannot be written: permissions, a read-only file system, or a full disk.' },
  ICX_PORT_IN_USE: { category: 'ResourceExists', httpStatus: 409, summary: 'A port the server must listen on is held by another process or connector.' },
  ICX_ADMIN_CERTIFICATE_MISSING: { category: 'ResourceUnavailable', httpStatus: 503, summary: 'No valid certificate is assigned to IIS on the server, so the admin center cannot use HTTPS.' },
  ICX_PORT_DENIED: { category: 'PermissionDenied', httpStatus: 403, summary: 'The process may not listen on a port (below 1024 without CAP_NET_BIND_SERVICE).' },
  ICX_DIRECTORY_URL_INVALID: { category: 'InvalidArgument', httpStatus: 400, summary: 'The directory URL is not a postgres:// or postgresql:// URL with a host.' },
  ICX_ORGANIZATION_MISMATCH: { category: 'InvalidOperation', httpStatus: 409, summary: "The data folder belongs to another organization than the directory's, or the directory holds no organization for a data folder that was already given one." },
  ICX_KEYVAULT_MISSING: { category: 'ResourceUnavailable', httpStatus: 503, summary: "A server joining an existing organization has no keyvault.key: it is copied from a server of the organization, never made anew." },
  ICX_KEYVAULT_MISMATCH: { category: 'InvalidData', httpStatus: 400, summary: "The data folder's keyvault.key is not the key the organization's secrets are sealed with." },
  ICX_DIRECTORY_PREPARE_FAILED: { category: 'InvalidOperation', httpStatus: 409, summary: 'prepare-directory cannot create the directory\'s role or database with the administrative connection it was given.' },
  ICX_CHANNEL_NOT_SECURE: { category: 'PermissionDenied', httpStatus: 403, summary: 'A cmdlet whose output is secret was called over plain HTTP from another host; it answers only over HTTPS or on loopback.' },
  ICX_THUMBPRINT_MISMATCH: { category: 'ConnectionError', httpStatus: 502, summary: 'The server reached presented another certificate than the thumbprint it was expected to present; nothing was sent.' },

  ICX_INTERNAL: { category: 'NotSpecified', httpStatus: 500, summary: 'An unexpected failure; the service log has details.' },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOG;
