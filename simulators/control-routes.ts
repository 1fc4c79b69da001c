// The control API over HTTP, under /_control: for the README demo and for tests in other processes.
import type { FastifyInstance } from 'fastify';
import {
  ControlInputError,
  parseControlInput,
  requestsQuerySchema,
  revokeSchema,
  statsQuerySchema,
} from './control-input';
import type { SimulatorControl } from './control';

export function registerControlRoutes(app: FastifyInstance, control: SimulatorControl): void {
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof ControlInputError) {
      return reply.code(400).send({ error: 'invalid_request', field: error.field, message: error.reason });
    }
    return reply.send(error);
  });

  app.post('/reset', async (_request, reply) => {
    control.reset();
    return reply.code(204).send();
  });

  app.get('/faults', async () => ({ faults: control.listFaults() }));

  app.post('/faults', async (request, reply) => {
    const id = control.addFault(request.body as never);
    return reply.code(201).send({ id });
  });

  app.delete('/faults', async (request, reply) => {
    const { vendor } = request.query as { vendor?: string };
    control.clearFaults(vendor);
    return reply.code(204).send();
  });

  app.delete('/faults/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!control.removeFault(id))
      return reply.code(404).send({ error: 'not_found', message: `no active fault ${id}` });
    return reply.code(204).send();
  });

  app.put('/install-target', async (request, reply) => {
    control.setInstallTarget(request.body as never);
    return reply.code(204).send();
  });

  app.post('/revoke', async (request, reply) => {
    const { vendor, match } = parseControlInput(revokeSchema, request.body);
    control.revokeAll(vendor, match);
    return reply.code(204).send();
  });

  app.get('/requests', async (request) => {
    const { vendor } = parseControlInput(requestsQuerySchema, request.query);
    return { requests: control.requests(vendor) };
  });

  app.get('/rates', async (request) => {
    const { vendor } = parseControlInput(requestsQuerySchema, request.query);
    return { rates: control.rates(vendor) };
  });

  app.get('/stats', async (request) => {
    const { vendor, match } = parseControlInput(statsQuerySchema, request.query);
    if (vendor !== undefined) return control.stats(vendor, match);
    return Object.fromEntries(control.vendors.map((name) => [name, control.stats(name, match)]));
  });
}
