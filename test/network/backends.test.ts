import { backendConformance, describeEachBackend } from './backend-suite';

// Every registered backend (torch, ts, and any added later) passes the same checks.
describeEachBackend('network backend', backendConformance);
