// A Kubernetes Indexed Job for a job list: pod i runs `freezeflow run-job --plan FILE` with
// JOB_COMPLETION_INDEX=i. Typed by kubernetes-models (type only: a misspelt field fails to compile) and
// validated against its batch/v1 schema in the tests; no cluster is needed to write it.
import { createHash } from 'node:crypto';
import { dirname, parse, relative, resolve, sep } from 'node:path';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import { stringify } from 'yaml';
import { EXIT_USAGE, UserError } from '../core/errors.js';
import { writeAtomic } from '../core/files.js';
import type { Job } from './jobs.js';

export interface K8sOptions {
  /** Where the list lives (pods read it from the shared volume at the same path). */
  plan: string;
  image: string;
  /** The PersistentVolumeClaim that holds the schedules, the job list and the runs. */
  claim: string;
  parallelism: number;
}

/** The deepest folder holding every path a pod needs; it is mounted at the same path in the pod. */
export function sharedRoot(paths: readonly string[]): string {
  const split = paths.map((p) => resolve(p).split(sep));
  const common: string[] = [];
  for (let i = 0; split.every((s) => s[i] !== undefined && s[i] === split[0]![i]); i++) common.push(split[0]![i]!);
  const root = common.join(sep) || sep;
  if (root === parse(root).root)
    throw new UserError(
      `--k8s: the job list, the schedules and --out share no folder (${paths.join(', ')}): put them under one shared folder`,
      EXIT_USAGE,
    );
  return root;
}

export function indexedJob(jobs: readonly Job[], o: K8sOptions): IJob {
  const plan = resolve(o.plan);
  const mount = sharedRoot([plan, ...jobs.flatMap((j) => [dirname(j.file), j.runDir])]);
  const name = `freezeflow-sweep-${createHash('sha256')
    .update(jobs.map((j) => j.id).join())
    .digest('hex')
    .slice(0, 8)}`;
  const threads = jobs[0]?.threads;
  const gpu = jobs.some((j) => j.backend === 'webgpu');
  const labels = { 'app.kubernetes.io/name': 'freezeflow', 'app.kubernetes.io/instance': name };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels },
    spec: {
      completions: jobs.length,
      parallelism: Math.min(o.parallelism, jobs.length),
      completionMode: 'Indexed',
      // each index is retried on its own; a retried run resumes from its last checkpoint
      backoffLimitPerIndex: 3,
      podFailurePolicy: {
        rules: [
          // exit 2 is a bad job (a schedule error, an index not in the list): retrying cannot help
          { action: 'FailIndex', onExitCodes: { containerName: 'freezeflow', operator: 'In', values: [2] } },
          // a preempted or evicted pod is not the job's fault: it does not use up a retry
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        ],
      },
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          // SIGTERM lets the run finish its batch and checkpoint (exit 130) before the kill
          terminationGracePeriodSeconds: 120,
          containers: [
            {
              name: 'freezeflow',
              image: o.image,
              command: ['freezeflow', 'run-job', '--plan', plan],
              ...(threads ? { env: [{ name: 'FREEZEFLOW_THREADS', value: String(threads) }] } : {}),
              ...(gpu ? { resources: { limits: { 'nvidia.com/gpu': '1' } } } : {}),
              volumeMounts: [{ name: 'sweep', mountPath: mount }],
            },
          ],
          volumes: [{ name: 'sweep', persistentVolumeClaim: { claimName: o.claim } }],
        },
      },
    },
  };
}

export function writeIndexedJob(file: string, jobs: readonly Job[], o: K8sOptions): string {
  const job = indexedJob(jobs, o);
  const mount = job.spec!.template.spec!.containers[0]!.volumeMounts![0]!.mountPath;
  const header = [
    `# freezeflow sweep: ${jobs.length} runs as a Kubernetes Indexed Job (kubectl apply -f ${relative(process.cwd(), file) || file})`,
    `# PersistentVolumeClaim "${o.claim}" must hold ${mount} (mounted at the same path), with the job list,`,
    `# the schedules and their data; the image must have freezeflow on PATH. Collect the table afterwards with`,
    `# freezeflow compare --collect --plan ${o.plan}`,
  ];
  writeAtomic(file, `${header.join('\n')}\n${stringify(job, { aliasDuplicateObjects: false })}`);
  return mount;
}
