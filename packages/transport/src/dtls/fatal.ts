/** A fatal condition: the alert to send and the reason to log. */
export class Fatal extends Error {
  constructor(
    readonly alert: number,
    reason: string,
  ) {
    super(reason);
  }
}
