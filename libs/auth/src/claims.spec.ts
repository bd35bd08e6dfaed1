import { toPrincipal } from './claims';

const base = { sub: 'u-1', exp: 2e9, iat: 1.7e9 };
const groups = {
  claims: { org: 'org_id', role: 'groups', device: 'device' },
  roleMap: [
    { value: 'ks-ops', role: 'operator' as const },
    { value: 'ks-admins', role: 'admin' as const },
    { value: 'ks-users', role: 'member' as const },
  ],
};

describe('claims → principal', () => {
  it('reads org/role/device by default, with the values admin, member, operator as they are', () => {
    expect(toPrincipal({ ...base, org: 'acme', role: 'admin', device: 'laptop' }, {})).toEqual({
      userId: 'u-1',
      orgId: 'acme',
      role: 'admin',
      deviceId: 'laptop',
      expiresAt: 2e9,
      issuedAt: 1.7e9,
    });
    expect(toPrincipal({ ...base, org: 'acme', role: ['member'] }, {}).role).toBe('member');
  });

  it('maps a groups claim through the role map: the first entry the token carries wins, unmapped groups are ignored', () => {
    expect(toPrincipal({ ...base, org_id: 'acme', groups: ['everyone', 'ks-users', 'ks-admins'] }, groups).role).toBe(
      'admin',
    );
    expect(toPrincipal({ ...base, org_id: 'acme', groups: ['ks-users'] }, groups).role).toBe('member');
    expect(toPrincipal({ ...base, org_id: 'acme', groups: 'ks-users' }, groups).role).toBe('member');
    // With a map, the raw value "admin" is just another unmapped group.
    expect(() => toPrincipal({ ...base, org_id: 'acme', groups: ['admin'] }, groups)).toThrow(
      'the token has no valid groups claim',
    );
  });

  it('lets an operator token carry no organization (an empty orgId no org route matches)', () => {
    expect(toPrincipal({ ...base, groups: ['ks-ops'] }, groups)).toMatchObject({ role: 'operator', orgId: '' });
    expect(() => toPrincipal({ ...base, groups: ['ks-admins'] }, groups)).toThrow(
      'the token has no valid org_id claim',
    );
  });

  it.each([
    [{ org: 'acme', role: 'admin', sub: '' }, 'the token has no subject'],
    [{ org: 'acme', role: 'admin', exp: undefined }, 'the token has no expiry'],
    [{ org: 'ACME', role: 'admin' }, 'the token has no valid org claim'],
    [{ org: 'acme', role: 'owner' }, 'the token has no valid role claim'],
    [{ org: 'acme', role: 'admin', device: 'x'.repeat(129) }, 'the device claim is invalid'],
  ])('refuses %p: %s', (claims, message) => {
    expect(() => toPrincipal({ ...base, ...claims }, {})).toThrow(message);
  });
});
