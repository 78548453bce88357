/** The floor of a cold start: a handler that loads nothing and answers at once. */
export async function handler(): Promise<{ statusCode: number; body: string }> {
  return { statusCode: 200, body: "{}" };
}
