import { createServer } from "node:http";
import { EmulatorUnavailableError, startEmulator } from "../../local/emulator";
import { freePort } from "../../local/net";

describe("local AWS emulator", () => {
  it("names both ways to get an emulator when AWS_ENDPOINT_URL does not answer", async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;

    const started = startEmulator({ AWS_ENDPOINT_URL: endpoint });

    await expect(started).rejects.toThrow(EmulatorUnavailableError);
    await expect(started).rejects.toThrow(/pip install "moto\[server\]".*AWS_ENDPOINT_URL/);
  }, 15_000);

  it("uses the endpoint in AWS_ENDPOINT_URL without starting anything when it answers", async () => {
    const server = createServer((_request, response) => response.end("ok"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      const emulator = await startEmulator({ AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` });

      expect(emulator).toMatchObject({ endpoint: `http://127.0.0.1:${port}`, owned: false });
      await emulator.stop();
    } finally {
      server.close();
    }
  });
});
