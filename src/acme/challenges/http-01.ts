// http-01 (RFC 8555 §8.3): the requesting server answers on the port the administrator chose.
import { startHttp01Responder } from '../http01-responder.js';
import type { ChallengeSolver } from './challenge.js';

export async function startHttp01(port: number, serverName: string): Promise<ChallengeSolver> {
  const responder = await startHttp01Responder(port, serverName);
  return {
    type: 'Http01',
    prepare: async (_authz, token, keyAuthorization) => {
      responder.publish(token, keyAuthorization);
      return async () => responder.unpublish(token);
    },
    failureHint: (name) =>
      `${serverName} answered on port ${port} while the request ran; the CA connects to the port of its own setting (80 for a public CA): check that ${name} resolves to ${serverName} for the CA and that the CA's port reaches port ${port} there.`,
    close: () => responder.close(),
  };
}
