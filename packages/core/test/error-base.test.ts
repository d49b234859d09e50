import { MapError } from '@syrup/maps';
import { SyrupError as BaseSyrupError } from '@syrup/errors';
import { describe, expect, it } from 'vitest';
import { SyrupError as ErrorsEntrySyrupError } from '../src/errors/index.js';
import { DeploymentError, LowLevelError, OwnershipError, SyrupError, isRefusal } from '../src/index.js';

describe('one error base', () => {
  it('core re-exports the SyrupError of @syrup/errors, on its root and on its errors entry', () => {
    expect(SyrupError).toBe(BaseSyrupError);
    expect(ErrorsEntrySyrupError).toBe(BaseSyrupError);
    expect(isRefusal(new OwnershipError('NOT_OWNER', 'm.'))).toBe(true);
  });

  it('errors of the package below core are SyrupErrors too, with their code and cause', () => {
    const cause = new Error('underlying');
    const error: unknown = new MapError('MAP_FULL', "map 'next' is full.", { cause });
    expect(error).toBeInstanceOf(SyrupError);
    // A map's error speaks of the map, not of the request: a deployment that meets one says which.
    expect(error).toBeInstanceOf(LowLevelError);
    expect(isRefusal(error)).toBe(false);
    expect(error).toMatchObject({ name: 'MapError', code: 'MAP_FULL', message: "map 'next' is full.", cause });
  });

  it("core's own families keep their names and codes", () => {
    expect(new DeploymentError('DEPLOYMENT_STATE', 'the deployment is closed.')).toMatchObject({ name: 'DeploymentError', code: 'DEPLOYMENT_STATE' });
    expect(new OwnershipError('TARGET_TAKEN', 'port 80 is taken.')).toMatchObject({ name: 'OwnershipError', code: 'TARGET_TAKEN' });
  });
});
