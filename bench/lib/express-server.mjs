// A second reference for request rates: an Express 5 app that only parses the JSON body (as
// Factum does, with express.json) and answers like an append. The gap between it and the bare
// node:http server is what the framework costs, before anything Factum does.
import express from 'express';

let revision = 0;
const app = express();
app.use(express.json({ limit: 16 * 1024 * 1024, type: ['application/json', 'application/*+json'], strict: false }));
app.post('/databases/:database/events', (req, res) => {
  revision += 1;
  res.json({ revision, events_count: Array.isArray(req.body?.events) ? req.body.events.length : 0 });
});
const server = app.listen(0, '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
