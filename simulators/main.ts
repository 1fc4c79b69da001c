// `npm run simulators`: every vendor simulator on one loopback port, for the README demo and manual tests.
import { startSimulators } from './server';
import { vendorSimulators } from './vendors';

async function main(): Promise<void> {
  const port = Number(process.env.SIMULATOR_PORT ?? 4010);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`SIMULATOR_PORT is not a port: ${port}`);
  const simulators = await startSimulators({ port });

  const rows = vendorSimulators.map((vendor) => ({
    title: vendor.title,
    ...vendor.demo(`${simulators.baseUrl}/${vendor.name}`),
  }));
  const titleWidth = Math.max(...rows.map((row) => row.title.length));
  const urlWidth = Math.max(...rows.map((row) => row.instanceUrl.length));
  console.log(`Vendor simulators on ${simulators.baseUrl} (control API: ${simulators.baseUrl}/_control)\n`);
  for (const row of rows) {
    console.log(`  ${row.title.padEnd(titleWidth)}  ${row.instanceUrl.padEnd(urlWidth)}  ${row.credentials}`);
  }
  console.log('\nOther demo ids (demo-missing-scopes, demo-ttl-5, demo-revoked, …): simulators/README.md');

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    console.log(`\n${signal}: closing simulators`);
    simulators.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
