import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { BlockedAddressError, NetworkPolicy, type Resolver } from './network-policy.js';

// Pure checks: nothing here opens a socket or asks a DNS server.
describe('NetworkPolicy', () => {
  const policy = new NetworkPolicy();

  it.each([
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['169.254.169.254', 'cloud metadata'],
    ['169.254.1.1', 'link-local'],
    ['127.0.0.1', 'loopback'],
    ['127.0.0.2', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.10', 'reserved'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['fd12:3456::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['ff02::1', 'multicast'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'cloud metadata'],
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'reserved'],
    ['64:ff9b::a00:1', 'NAT64'],
    ['2002:a00:1::1', '6to4'],
    ['2001:db8::1', 'reserved'],
  ])('refuses %s (%s)', (address, label) => {
    expect(policy.addressProblem(address)).toContain(label);
  });

  it.each(['93.184.215.14', '8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '2001:4860:4860::8888', '::ffff:93.184.215.14'])(
    'accepts the public address %s',
    (address) => {
      expect(policy.addressProblem(address)).toBeNull();
    },
  );

  it('judges URL hosts in every spelling the URL parser accepts, without I/O', () => {
    const problem = (url: string) => policy.urlProblem(new URL(url));
    expect(problem('http://127.0.0.1:8080/hooks')).toContain('loopback');
    expect(problem('http://2130706433/hooks')).toContain('loopback');
    expect(problem('http://0x7f.1/hooks')).toContain('loopback');
    expect(problem('http://[::ffff:127.0.0.1]/hooks')).toContain('loopback');
    expect(problem('http://[::1]/hooks')).toContain('loopback');
    expect(problem('http://169.254.169.254/latest/meta-data')).toContain('cloud metadata');
    expect(problem('http://localhost:3000/')).toContain('loopback');
    expect(problem('http://api.localhost/')).toContain('loopback');
    expect(problem('https://hooks.example.com/in')).toBeNull();
    expect(problem('https://93.184.215.14/in')).toBeNull();
    expect(problem('http://10.1.2.3/')).toMatch(/private .*allowedNetworks/);
  });

  it('lets allowedNetworks open CIDRs, addresses, hosts and host suffixes', () => {
    const open = new NetworkPolicy({ allowedNetworks: ['10.20.0.0/16', '192.168.1.5', 'fd12::/16', 'hooks.internal', '*.svc.local'] });
    expect(open.addressProblem('10.20.3.4')).toBeNull();
    expect(open.addressProblem('::ffff:10.20.3.4')).toBeNull();
    expect(open.addressProblem('10.21.0.1')).toContain('private');
    expect(open.addressProblem('192.168.1.5')).toBeNull();
    expect(open.addressProblem('192.168.1.6')).toContain('private');
    expect(open.addressProblem('fd12::9')).toBeNull();
    expect(open.hostAllowed('hooks.internal')).toBe(true);
    expect(open.hostAllowed('a.b.svc.local')).toBe(true);
    expect(open.hostAllowed('svc.local.evil.com')).toBe(false);
    expect(new NetworkPolicy({ allowPrivateNetworks: true }).urlProblem(new URL('http://127.0.0.1/'))).toBeNull();
  });

  it('lets an address:port entry open that port of that address only, and never a host name', () => {
    const own = new NetworkPolicy({ allowedNetworks: ['127.0.0.1:3000', '[::1]:3000'] });
    const problem = (url: string) => own.urlProblem(new URL(url));
    expect(problem('http://127.0.0.1:3000/demo/receiver')).toBeNull();
    expect(problem('http://[::1]:3000/demo/receiver')).toBeNull();
    expect(problem('http://[0:0:0:0:0:0:0:1]:3000/')).toBeNull();
    expect(problem('http://127.0.0.1:3001/')).toContain('loopback');
    expect(problem('http://127.0.0.1/')).toContain('loopback');
    expect(problem('https://127.0.0.1/')).toContain('loopback');
    expect(problem('http://127.0.0.2:3000/')).toContain('loopback');
    expect(problem('http://localhost:3000/')).toContain('loopback');
    expect(problem('http://[::ffff:127.0.0.1]:3000/')).not.toBeNull();
    // The address itself stays refused where no port is known (a name that resolves to it).
    expect(own.addressProblem('127.0.0.1')).toContain('loopback');
    expect(new NetworkPolicy({ allowedNetworks: ['10.0.0.1:443'] }).urlProblem(new URL('https://10.0.0.1/'))).toBeNull();
  });

  it('rejects allow-list entries it cannot read', () => {
    expect(() => new NetworkPolicy({ allowedNetworks: ['10.0.0.0/99', 'not a host', ''] })).toThrow(/10\.0\.0\.0\/99.*not a host.*empty/);
    expect(() => new NetworkPolicy({ allowedNetworks: ['127.0.0.1:0', '[nope]:80', '999.1.1.1:80'] })).toThrow(
      /127\.0\.0\.1:0.*not an address:port.*\[nope\]:80.*999\.1\.1\.1:80/,
    );
  });

  describe('resolution (with a stub resolver: no DNS traffic)', () => {
    const answers: Record<string, LookupAddress[]> = {
      'public.test': [{ address: '93.184.215.14', family: 4 }],
      'rebind.test': [
        { address: '93.184.215.14', family: 4 },
        { address: '10.0.0.1', family: 4 },
      ],
      'meta.test': [{ address: '169.254.169.254', family: 4 }],
      'hooks.internal': [{ address: '10.9.9.9', family: 4 }],
    };
    const resolver: Resolver = async (host) => answers[host] ?? [];

    it('returns the checked addresses for a public host', async () => {
      await expect(policy.resolve('public.test', undefined, resolver)).resolves.toEqual(answers['public.test']);
    });

    it('refuses a host when any of its addresses is not public, naming host and address', async () => {
      const error = await policy.resolve('rebind.test', undefined, resolver).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BlockedAddressError);
      expect((error as BlockedAddressError).code).toBe('EWEBHOOKBLOCKED');
      expect((error as Error).message).toContain('rebind.test resolves to a private (RFC 1918) address');
      expect((error as Error).message).not.toContain('10.0.0.1'); // the kind of address, not the address
      await expect(policy.resolve('meta.test', undefined, resolver)).rejects.toThrow('cloud metadata');
    });

    it('trusts an allow-listed host name whatever it resolves to (an entry may end with a dot)', async () => {
      for (const entry of ['hooks.internal', 'HOOKS.internal.']) {
        const open = new NetworkPolicy({ allowedNetworks: [entry] });
        await expect(open.resolve('hooks.internal', undefined, resolver)).resolves.toEqual(answers['hooks.internal']);
        expect(open.hostAllowed('hooks.internal.')).toBe(true);
      }
    });

    it('works as a socket lookup in all three call forms Node uses', async () => {
      const policy = new NetworkPolicy({ resolver });
      const call = (...args: unknown[]) =>
        new Promise<unknown[]>((resolve) => (policy.lookup as (...a: unknown[]) => void)(...args, (...out: unknown[]) => resolve(out)));
      expect(await call('public.test', { all: true })).toEqual([null, answers['public.test']]);
      expect(await call('public.test', { family: 4 })).toEqual([null, '93.184.215.14', 4]);
      expect(await call('public.test')).toEqual([null, '93.184.215.14', 4]);
      expect(await call('public.test', 4)).toEqual([null, '93.184.215.14', 4]);
      const [error] = await call('rebind.test', { all: true });
      expect(error).toBeInstanceOf(BlockedAddressError);
      const [error2] = await call('meta.test', { family: 4 });
      expect((error2 as Error).message).toContain('meta.test resolves to a cloud metadata address');
    });
  });
});
