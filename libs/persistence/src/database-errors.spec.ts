import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable, isSessionEnded } from './database-errors';

const sqlState = (code: string) => Object.assign(new DatabaseError('x', 1, 'error'), { code });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a terminated backend (57P01)', sqlState('57P01')],
    ['a connection exception class 08', sqlState('08006')],
    ['too many connections', sqlState('53300')],
    ['a lost socket', new Error('Connection terminated unexpectedly')],
    ['a pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    [
      'a driver error wrapped by TypeORM',
      new QueryFailedError('SELECT 1', [], new Error('Connection terminated unexpectedly')),
    ],
  ])('is true for %s', (_, e) => expect(isDatabaseUnavailable(e)).toBe(true));

  it.each([
    ['a unique violation', sqlState('23505')],
    ['an invalid text representation', sqlState('22P02')],
    ['a programming error', new TypeError('x is undefined')],
    ['a non-error', 'down'],
  ])('is false for %s', (_, e) => expect(isDatabaseUnavailable(e)).toBe(false));
});

describe('isSessionEnded', () => {
  it('is true only when the server ended the session under the statement', () => {
    expect(isSessionEnded(sqlState('57P01'))).toBe(true);
    expect(isSessionEnded(sqlState('08006'))).toBe(true);
    expect(isSessionEnded(sqlState('55P03'))).toBe(false);
    expect(isSessionEnded(new Error('Connection terminated'))).toBe(false);
  });
});
