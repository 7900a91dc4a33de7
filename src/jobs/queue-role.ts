/** Roles of a process: `api` enqueues, `worker` analyses, `all` does both (`serve --role`). */
export const QUEUE_ROLES = ['api', 'worker', 'all'] as const;

export type QueueRole = (typeof QUEUE_ROLES)[number];
