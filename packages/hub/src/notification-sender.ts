/**
 * The hub's NotificationSender (decision 0030): webhooks over HTTPS with Node's client (an
 * endpoint's own CA PEM is trusted beside the system's; no redirects followed; the response body
 * is read up to a few KiB and dropped) and email over SMTP with nodemailer. Error messages carry
 * the status or the network error, never the URL (it may hold a token) or a secret.
 */
import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import nodemailer from 'nodemailer';
import type { EmailMessage, NotificationSender, WebhookRequest } from '@bulwark/core';

/** A receiver's answer beyond this is not read (it is never used). */
const MAX_RESPONSE_BYTES = 4096;

/** The message of a network error without anything the endpoint's URL could leak. */
const networkError = (err: unknown): Error => {
  const e = err as { code?: string; message?: string };
  return new Error(e.code ? `network error ${e.code}` : 'network error');
};

function postWebhook(req: WebhookRequest): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(req.body);
    const r = request(
      req.url,
      {
        method: 'POST',
        headers: { ...req.headers, 'content-length': String(body.length) },
        ...(req.caPem ? { ca: [...rootCertificates, req.caPem] } : {}),
        minVersion: 'TLSv1.2',
        timeout: req.timeoutMs,
      },
      (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) res.destroy();
        });
        const done = () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve({ status });
          else reject(new Error(`HTTP ${status} from the receiver`));
        };
        res.on('end', done);
        res.on('close', done);
        res.on('error', () => done());
      },
    );
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', (err) =>
      reject(
        err.message === 'timeout'
          ? new Error(`no answer within ${req.timeoutMs} ms`)
          : networkError(err),
      ),
    );
    r.end(body);
  });
}

async function sendEmail(m: EmailMessage): Promise<void> {
  const t = nodemailer.createTransport({
    host: m.smtp.host,
    port: m.smtp.port,
    secure: m.smtp.security === 'tls',
    requireTLS: m.smtp.security === 'starttls',
    ignoreTLS: m.smtp.security === 'none',
    ...(m.smtp.username !== null && m.smtp.password !== null
      ? { auth: { user: m.smtp.username, pass: m.smtp.password } }
      : {}),
    tls: {
      minVersion: 'TLSv1.2',
      ...(m.smtp.caPem ? { ca: [...rootCertificates, m.smtp.caPem] } : {}),
    },
    connectionTimeout: m.timeoutMs,
    greetingTimeout: m.timeoutMs,
    socketTimeout: m.timeoutMs,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  try {
    await t.sendMail({ from: m.from, to: m.to, subject: m.subject, text: m.text });
  } catch (err) {
    const e = err as { code?: string; responseCode?: number; response?: string };
    // The server's reply says why (e.g. 550 mailbox unavailable); the password is never in it.
    throw new Error(
      `SMTP ${e.responseCode ?? e.code ?? 'error'}${e.response ? `: ${e.response.slice(0, 200)}` : ''}`,
    );
  } finally {
    t.close();
  }
}

/** The sender the hub uses. */
export function createNotificationSender(): NotificationSender {
  return { postWebhook, sendEmail };
}
