import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs on stderr (stdout is for the one-time setup banner). Credentials are
 * redacted wherever they could appear in a logged request.
 */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { service: 'bulwark-hub' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          '*.password',
          '*.token',
          '*.refreshToken',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}
