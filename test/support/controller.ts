/**
 * The tests' controller: the repository's one launcher (testbed/controller.ts) with the flags every
 * integration test wants: debug logs (kept for the test report), a short data-plane timeout,
 * plain http:// data planes allowed (the misbehaving peers of test/support/hostile.ts speak http),
 * and --single-tenant: most files test one feature with one organization, in namespaces and with
 * kinds the safe default would refuse. The tenancy suites (test/safety/tenancy*.test.ts) pass
 * `--single-tenant=false`, the product's default, as does the demo.
 */
import { ControllerProcess, type LaunchOptions } from '../../testbed/controller.ts';

export { ControllerProcess, metricValue } from '../../testbed/controller.ts';

/** startTestController starts the controller from the sources with the tests' flags, and waits until it is ready. */
export function startTestController(options: LaunchOptions): Promise<ControllerProcess> {
  return ControllerProcess.start({
    ...options,
    args: [
      '--log-level=debug',
      '--dataplane-timeout=5s',
      '--dataplane-allow-http=true',
      '--single-tenant',
      ...(options.args ?? []),
    ],
  });
}
