export { MailQueueStore } from './store.js';
export type { EnqueueRequest, FailedRecipient, QueuedMessage, QueuedMessagePatch, QueuedMessageStatus } from './types.js';
export { DEFAULT_EXPIRATION_MS } from './types.js';
