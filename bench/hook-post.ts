/**
 * One CDS Hooks call of the benchmark clients over keep-alive `node:http`, and the check that it
 * returned the stored result's card.
 */
import { request, type Agent } from 'node:http';

/** A hook call's HTTP status and body text. */
export interface HookReply {
  readonly status: number;
  readonly text: string;
}

/** Posts `body` to `url` with the bearer `token`; rejects on a transport error. */
export function postHook(url: string, agent: Agent, token: string, body: string): Promise<HookReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        response.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Returns true for a 200 whose first card is the stored result's (its summary names the features). */
export function isResultCard(reply: HookReply): boolean {
  if (reply.status !== 200) return false;
  try {
    const parsed = JSON.parse(reply.text) as { cards?: { summary?: string }[] };
    return parsed.cards?.[0]?.summary?.includes('features measured') === true;
  } catch {
    return false;
  }
}
