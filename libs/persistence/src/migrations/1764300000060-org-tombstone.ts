import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Offboarding leaves only a tombstone in the log. `events` stays append-only for everyone (no UPDATE, no DELETE)
 * with one controlled exception: the rows of an organization that is already marked deleted may be deleted while
 * the transaction's `keystream.purge_org` setting names that org — what OrganizationsRepository.delete does, in the
 * same transaction that marks it deleted and appends its `OrganizationDeleted` event. The tombstone itself never
 * goes. A live org's rows cannot be removed this way, whatever a session sets.
 */
export class OrgTombstone1764300000060 implements MigrationInterface {
  name = 'OrgTombstone1764300000060';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND OLD.type <> 'OrganizationDeleted'
           AND current_setting('keystream.purge_org', true) = OLD.org_id
           AND EXISTS (SELECT 1 FROM organizations WHERE id = OLD.org_id AND deleted_at IS NOT NULL) THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'events is append-only';
      END $$`);
    await q.query(`DROP TRIGGER events_no_update ON events`);
    await q.query(
      `CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION events_guard()`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER events_no_update ON events`);
    await q.query(
      `CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION events_append_only()`,
    );
    await q.query(`DROP FUNCTION events_guard()`);
  }
}
