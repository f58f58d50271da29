import type { CertificateStore } from '../../certificate-store/certificate-store.js';
import type { ObjectTypeInfo } from '../contract.js';
import type { CmdletDeclaration } from '../framework/declaration.js';
import { acmeAccountType, acmeCertificateType, acmeCmdlets } from './acme.js';
import { adminAuditLogCmdlets, adminAuditLogType } from './admin-audit-log.js';
import { administratorCmdlets, administratorType } from './administrators.js';
import { binaryFileDataType, certificateAlertType, certificateRotationStepType, cryptoKeyAccessRuleType, exchangeCertificateCmdlets, exchangeCertificateType, smtpDomainWithSubdomainsType, x509ExtensionTypes } from './exchange-certificate.js';
import { receiveConnectorCmdlets, receiveConnectorType } from './receive-connector.js';
import { sendConnectorCmdlets, sendConnectorType } from './send-connector.js';
import { frontendTransportServiceCmdlets, frontendTransportServiceType, mailboxTransportServiceType } from './frontend-transport-service.js';
import { exchangeServerType, serverCmdlets, serviceType, transportServiceType } from './servers.js';
import { mailUserCmdlets, mailUserType } from './mail-user.js';
import { acceptedDomainCmdlets, acceptedDomainType } from './accepted-domain.js';
import { remoteDomainCmdlets, remoteDomainType } from './remote-domain.js';
import { transportConfigCmdlets, transportConfigType } from './transport-config.js';
import { adPermissionCmdlets, adPermissionType } from './ad-permission.js';
import { messageType, queueCmdlets, queueType } from './queues.js';
import { connectorCertificateUsageType, protocolLogCmdlets } from './protocol-logs.js';
import { organizationJoinCmdlets, organizationJoinDataType } from './organization-join.js';
import { serverComponentStateType, serverMaintenanceCmdlets, serviceHealthType, testMailflowResultType } from './server-maintenance.js';
import { messageTrackingCmdlets, messageTrackingEventType } from './message-tracking.js';
import { queueDigestCmdlets, queueDigestType } from './queue-digest.js';
import { mailFlowStatisticsCmdlets, mailFlowStatisticsType } from './mail-flow-statistics.js';

/** Every cmdlet of Interchange and the object types they return. */
export function buildCatalog(deps: { certificates: CertificateStore }): { cmdlets: CmdletDeclaration[]; types: ObjectTypeInfo[] } {
  return {
    cmdlets: [
      ...exchangeCertificateCmdlets(deps.certificates),
      ...acmeCmdlets(deps.certificates),
      ...sendConnectorCmdlets(deps.certificates),
      ...receiveConnectorCmdlets(),
      ...serverCmdlets(),
      ...frontendTransportServiceCmdlets(),
      ...adminAuditLogCmdlets(),
      ...queueCmdlets(),
      ...queueDigestCmdlets(),
      ...protocolLogCmdlets(deps.certificates),
      ...messageTrackingCmdlets(),
      ...mailFlowStatisticsCmdlets(),
      ...administratorCmdlets(),
      ...mailUserCmdlets(),
      ...acceptedDomainCmdlets(),
      ...remoteDomainCmdlets(),
      ...transportConfigCmdlets(),
      ...adPermissionCmdlets(),
      ...organizationJoinCmdlets(),
      ...serverMaintenanceCmdlets(),
    ],
    types: [exchangeCertificateType, smtpDomainWithSubdomainsType, cryptoKeyAccessRuleType, ...x509ExtensionTypes, binaryFileDataType, certificateRotationStepType, certificateAlertType, sendConnectorType, receiveConnectorType, exchangeServerType, transportServiceType, frontendTransportServiceType, mailboxTransportServiceType, serviceType, adminAuditLogType, administratorType, queueType, messageType, connectorCertificateUsageType, mailUserType, acceptedDomainType, remoteDomainType, transportConfigType, adPermissionType, organizationJoinDataType, serverComponentStateType, serviceHealthType, testMailflowResultType, messageTrackingEventType, queueDigestType, mailFlowStatisticsType, acmeAccountType, acmeCertificateType],
  };
}
