import { describe } from 'node:test';
import type { KubeObject } from '../api/object.ts';
import { cronJobHealth, jobHealth } from './batch.ts';
import { runTable, captured } from '../../test/support/health-table.ts';

function job(status: Record<string, unknown>, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'migrate-29143200', namespace: 'shop', generation: 1 },
    spec: {
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      completions: 1,
      parallelism: 1,
      suspend: false,
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image: 'migrate:v2' }] } },
      ...spec,
    },
    status,
  };
}

const jobCondition = (type: string, status: string, reason: string, message: string) => ({
  type,
  status,
  reason,
  message,
  lastProbeTime: '2025-06-01T11:58:00Z',
  lastTransitionTime: '2025-06-01T11:58:00Z',
});

void describe('jobHealth', () => {
  runTable(jobHealth, [
    {
      name: 'running is Progressing with counts',
      obj: job({
        active: 1,
        ready: 1,
        terminating: 0,
        startTime: '2025-06-01T11:59:00Z',
        uncountedTerminatedPods: {},
      }),
      status: 'Progressing',
      reason: 'Running',
      message: '1 active, 0/1 succeeded',
    },
    {
      name: 'retrying after pod failures shows the failures',
      obj: job({ active: 1, failed: 2, ready: 0, startTime: '2025-06-01T11:55:00Z' }),
      status: 'Progressing',
      reason: 'Running',
      message: '1 active, 0/1 succeeded, 2 failed',
    },
    {
      name: 'Complete=True is Healthy',
      obj: job({
        succeeded: 1,
        ready: 0,
        terminating: 0,
        startTime: '2025-06-01T11:57:00Z',
        completionTime: '2025-06-01T11:58:00Z',
        conditions: [
          jobCondition(
            'SuccessCriteriaMet',
            'True',
            'CompletionsReached',
            'Reached expected number of succeeded pods',
          ),
          jobCondition('Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods'),
        ],
      }),
      status: 'Healthy',
      reason: 'Complete',
      message: 'completed: 1/1 succeeded',
    },
    {
      name: 'SuccessCriteriaMet before Complete is Healthy',
      obj: job({
        succeeded: 1,
        terminating: 1,
        conditions: [
          jobCondition(
            'SuccessCriteriaMet',
            'True',
            'CompletionsReached',
            'Reached expected number of succeeded pods',
          ),
        ],
      }),
      status: 'Healthy',
      reason: 'Complete',
    },
    {
      name: 'Failed=True (backoff limit) is Degraded with the condition message',
      obj: job({
        failed: 7,
        ready: 0,
        terminating: 0,
        startTime: '2025-06-01T11:50:00Z',
        conditions: [
          jobCondition(
            'FailureTarget',
            'True',
            'BackoffLimitExceeded',
            'Job has reached the specified backoff limit',
          ),
          jobCondition(
            'Failed',
            'True',
            'BackoffLimitExceeded',
            'Job has reached the specified backoff limit',
          ),
        ],
      }),
      status: 'Degraded',
      reason: 'BackoffLimitExceeded',
      message: 'Job has reached the specified backoff limit',
    },
    {
      name: 'FailureTarget=True while pods terminate is already Degraded',
      obj: job({
        failed: 1,
        terminating: 1,
        conditions: [
          jobCondition(
            'FailureTarget',
            'True',
            'DeadlineExceeded',
            'Job was active longer than specified deadline',
          ),
        ],
      }),
      status: 'Degraded',
      reason: 'DeadlineExceeded',
    },
    {
      name: 'Suspended=True is Suspended',
      obj: job(
        {
          active: 0,
          conditions: [jobCondition('Suspended', 'True', 'JobSuspended', 'Job suspended')],
        },
        { suspend: true },
      ),
      status: 'Suspended',
      reason: 'Suspended',
      message: 'Job suspended',
    },
    {
      name: 'spec.suspend without the condition yet is Suspended',
      obj: job({ active: 0 }, { suspend: true }),
      status: 'Suspended',
      reason: 'Suspended',
      message: 'job is suspended (spec.suspend)',
    },
    {
      name: 'spec.suspend false with a leftover Suspended=True is not Suspended',
      obj: job(
        {
          active: 1,
          conditions: [jobCondition('Suspended', 'True', 'JobSuspended', 'Job suspended')],
        },
        { suspend: false },
      ),
      status: 'Progressing',
      reason: 'Running',
      message: '1 active, 0/1 succeeded',
    },
    {
      name: 'resumed Job (Suspended=False) is running, not complete',
      obj: job({
        active: 1,
        startTime: '2025-06-01T11:59:30Z',
        conditions: [jobCondition('Suspended', 'False', 'JobResumed', 'Job resumed')],
      }),
      status: 'Progressing',
      reason: 'Running',
    },
    {
      name: 'work-queue Job without completions',
      obj: job({ active: 3, succeeded: 2 }, { completions: undefined, parallelism: 3 }),
      status: 'Progressing',
      reason: 'Running',
      message: '3 active, 2 succeeded',
    },
    {
      name: 'captured: Job whose pod cannot be scheduled is Progressing',
      obj: captured('job-active.json').obj,
      status: 'Progressing',
      reason: 'Running',
      message: '1 active, 0/1 succeeded',
    },
    {
      name: 'captured: completed Job is Healthy',
      obj: captured('job-complete.json').obj,
      status: 'Healthy',
      reason: 'Complete',
      message: 'completed: 1/1 succeeded',
    },
    {
      name: 'captured: Job past its backoff limit (FailureTarget and Failed) is Degraded',
      obj: captured('job-failed.json').obj,
      status: 'Degraded',
      reason: 'BackoffLimitExceeded',
      message: 'Job has reached the specified backoff limit',
    },
    {
      name: 'captured: FailureTarget before the Job controller sets Failed is Degraded already',
      obj: captured('job-failure-target.json').obj,
      status: 'Degraded',
      reason: 'BackoffLimitExceeded',
      message: 'Job has reached the specified backoff limit',
    },
    {
      // The pod is still in uncountedTerminatedPods, so `succeeded` reads 0 for a moment: count it.
      name: 'captured: SuccessCriteriaMet before the Job controller sets Complete is Healthy already',
      obj: captured('job-success-criteria-met.json').obj,
      status: 'Healthy',
      reason: 'Complete',
      message: 'completed: 1/1 succeeded',
    },
  ]);
});

function cronJob(status: Record<string, unknown>, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'report', namespace: 'shop', generation: 1 },
    spec: {
      schedule: '*/5 * * * *',
      concurrencyPolicy: 'Forbid',
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [] } } } },
      ...spec,
    },
    status,
  };
}

void describe('cronJobHealth', () => {
  runTable(cronJobHealth, [
    {
      name: 'suspend is Suspended',
      obj: cronJob({ lastScheduleTime: '2025-06-01T11:55:00Z' }, { suspend: true }),
      status: 'Suspended',
      reason: 'Suspended',
    },
    {
      name: 'never scheduled is Healthy',
      obj: cronJob({}),
      status: 'Healthy',
      reason: 'NotYetScheduled',
    },
    {
      name: 'last run succeeded is Healthy',
      obj: cronJob({ lastScheduleTime: '2025-06-01T11:55:00Z', lastSuccessfulTime: '2025-06-01T11:55:38Z' }),
      status: 'Healthy',
      reason: 'LastRunSucceeded',
      message: 'last run succeeded at 2025-06-01T11:55:38Z',
    },
    {
      name: 'after a failed run (success older than the last schedule) is Degraded',
      obj: cronJob({ lastScheduleTime: '2025-06-01T11:55:00Z', lastSuccessfulTime: '2025-06-01T11:50:41Z' }),
      status: 'Degraded',
      reason: 'LastRunFailed',
      message: 'run scheduled at 2025-06-01T11:55:00Z did not succeed (last success: 2025-06-01T11:50:41Z)',
    },
    {
      name: 'scheduled but never succeeded is Degraded',
      obj: cronJob({ lastScheduleTime: '2025-06-01T11:55:00Z' }),
      status: 'Degraded',
      reason: 'LastRunFailed',
      message: /last success: never/,
    },
    {
      name: 'an active job is Progressing even after a failure',
      obj: cronJob({
        active: [
          {
            apiVersion: 'batch/v1',
            kind: 'Job',
            name: 'report-29143200',
            namespace: 'shop',
            uid: '5d0c',
            resourceVersion: '81234',
          },
        ],
        lastScheduleTime: '2025-06-01T12:00:00Z',
        lastSuccessfulTime: '2025-06-01T11:50:41Z',
      }),
      status: 'Progressing',
      reason: 'JobActive',
      message: 'job running: report-29143200',
    },
    {
      name: 'captured: CronJob after a successful run is Healthy',
      obj: captured('cronjob-last-run-succeeded.json').obj,
      status: 'Healthy',
      reason: 'LastRunSucceeded',
      message: /^last run succeeded at /,
    },
  ]);
});
