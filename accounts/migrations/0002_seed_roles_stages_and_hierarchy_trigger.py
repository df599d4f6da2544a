"""Seed the contact roles and opportunity stages; refuse parent-link cycles in the database.

The trigger runs on every insert or parent change of an account (admin, services, raw SQL):
it takes one transaction-level advisory lock, so that two opposite links set at the same
moment are checked one after the other (each check's query sees what the other committed),
then walks up from the new parent; reaching the account itself is a cycle.
"""

from django.db import migrations

from accounts.defaults import seed_defaults

TRIGGER = """
CREATE OR REPLACE FUNCTION accounts_refuse_parent_cycle() RETURNS trigger AS $$
DECLARE
    found boolean;
BEGIN
    IF NEW.parent_id IS NULL THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.parent_id IS NOT DISTINCT FROM OLD.parent_id THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('accounts_account.parent_id'));
    WITH RECURSIVE up(id, parent_id, depth) AS (
        SELECT a.id, a.parent_id, 1 FROM accounts_account a WHERE a.id = NEW.parent_id
        UNION ALL
        SELECT a.id, a.parent_id, up.depth + 1
        FROM accounts_account a JOIN up ON a.id = up.parent_id
        WHERE up.depth < 1000
    )
    SELECT EXISTS (SELECT 1 FROM up WHERE up.id = NEW.id) INTO found;
    IF found THEN
        RAISE EXCEPTION 'account % cannot have % as parent: the hierarchy would be a cycle',
            NEW.id, NEW.parent_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_account_no_cycle';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql VOLATILE;

CREATE TRIGGER accounts_account_no_cycle
BEFORE INSERT OR UPDATE OF parent_id ON accounts_account
FOR EACH ROW EXECUTE FUNCTION accounts_refuse_parent_cycle();
"""

DROP = """
DROP TRIGGER IF EXISTS accounts_account_no_cycle ON accounts_account;
DROP FUNCTION IF EXISTS accounts_refuse_parent_cycle();
"""


def seed(apps, schema_editor):
    seed_defaults(apps.get_model("accounts", "ContactRole"), apps.get_model("accounts", "OpportunityStage"))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_accounts_contacts_opportunities")]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunSQL(TRIGGER, DROP),
    ]
