/**
 * The domain check of one prediction from start to end: settings first (before any descriptor),
 * then each block's descriptors as the network source computes them, then the report. Strict mode
 * turns the first finding into a MalaError.
 */
import { MalaError } from '../errors';
import type { DescriptorParameters } from '../network/model-data';
import type { Communicator } from '../parallel/comm';
import { checkSettings, DomainMonitor, domainReport, domainWarning, featureLabel, UNKNOWN_DOMAIN_NOTE, type DomainFinding, type DomainInputs, type DomainReport } from './domain-check';
import type { TrainingDomain } from './training-domain';

export interface DomainSession {
  /** Give to the network source (src/engine/network-source.ts `onDescriptors`); none without a domain. */
  onDescriptors?: (block: number, descriptors: Float32Array, n: number) => void;
  /** After the descriptors: the report (its warnings already sent to `warn`); throws in strict mode. */
  finish(comm: Communicator): DomainReport;
}

export interface DomainSessionOptions {
  domain: TrainingDomain | undefined;
  descriptors: DescriptorParameters;
  modelSource: string;
  input: DomainInputs;
  strict?: boolean;
  warn: (message: string) => void;
}

function strictError(findings: DomainFinding[], modelSource: string, structure: string): MalaError {
  return new MalaError(`--strict-domain: ${structure} is outside the training domain of ${modelSource}: ${findings.map((f) => f.message).join('; ')}`, {
    fix: 'use a model trained for this structure and these settings, or drop --strict-domain to predict with a warning',
  });
}

export function openDomainSession(o: DomainSessionOptions, structure: string): DomainSession {
  const domain = o.domain;
  if (!domain) {
    if (o.strict) {
      throw new MalaError(`--strict-domain: the model ${o.modelSource} records no training domain, so the structure cannot be checked`, {
        file: o.modelSource,
        fix: 'record it (mala-ts model-domain, see models/al-fcc-298K/RECIPE.md) or drop --strict-domain',
      });
    }
    return { finish: () => ({ known: false, inDomain: true, findings: [], note: UNKNOWN_DOMAIN_NOTE }) };
  }
  const settings = checkSettings(domain, o.input);
  if (o.strict && settings.length) throw strictError(settings, o.modelSource, structure);
  const monitor = new DomainMonitor(domain);
  const label = (k: number) => featureLabel(k, o.descriptors.type, o.descriptors.twojmax);
  return {
    onDescriptors: (b, x, n) => monitor.addBlock(b, x, n),
    finish(comm) {
      const report = domainReport(domain, o.input, settings, monitor.reduce(comm), label);
      if (o.strict && report.findings.length) throw strictError(report.findings, o.modelSource, structure);
      report.findings.forEach((f) => o.warn(domainWarning(f)));
      return report;
    },
  };
}
