/** The dashboard: its page (`GET /`) and the JSON figures it shows (`GET /stats`…). */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { dashboardRoutes } from '../routes/dashboard.js';
import { statsRoutes } from '../routes/stats.js';

/** Registers the dashboard's routes. */
export function dashboard(app: FastifyInstance, ctx: ServerContext): void {
  statsRoutes(app, ctx);
  dashboardRoutes(app, ctx);
}
