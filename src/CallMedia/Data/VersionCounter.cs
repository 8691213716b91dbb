using System.Text;

namespace CallMedia.Data;

/// <summary>
/// A one-row counter raised by triggers in the very transaction that changes what it counts (<see cref="AuthVersion"/>,
/// <see cref="MediaVersion"/>): its table, and the triggers in each engine's dialect.
/// </summary>
public static class VersionCounter
{
    /// <summary>The counter's table, its one row at 0.</summary>
    public static string TableSql(string counter) =>
        $"CREATE TABLE {counter} (id INTEGER NOT NULL PRIMARY KEY, v BIGINT NOT NULL);\nINSERT INTO {counter} (id, v) VALUES (1, 0);\n";

    /// <summary>
    /// Raises <paramref name="counter"/> on every insert, update and delete of <paramref name="tables"/>: on SQLite a
    /// row trigger per table and operation (named <c>tr_{prefix}_{table}_{operation}</c>); on PostgreSQL a statement
    /// trigger per table (<c>tr_{prefix}_{table}</c>, truncation too) calling <paramref name="function"/>, which also
    /// sends <c>NOTIFY {notify}</c> when one is named. <paramref name="early"/> (PostgreSQL): the trigger runs before
    /// the statement and raises the counter once per transaction, so a transaction takes the counter's row lock before
    /// any row of those tables (two writers never hold them in opposite orders) and a bulk import leaves one new
    /// version of that row, not one per statement.
    /// </summary>
    public static void AppendTriggers(StringBuilder sql, DbKind kind, string prefix, string counter, string function, IEnumerable<string> tables, string? notify = null, bool early = false)
    {
        if (kind == DbKind.Sqlite)
        {
            foreach (var table in tables)
            {
                foreach (var op in new[] { "INSERT", "UPDATE", "DELETE" })
                {
                    sql.Append($"CREATE TRIGGER tr_{prefix}_{table}_{op.ToLowerInvariant()} AFTER {op} ON {table} {SqliteBump(counter)}");
                }
            }

            return;
        }

        var raise = early
            ? $"""
                IF current_setting('callmedia.{counter}', true) IS DISTINCT FROM txid_current()::text THEN
                        UPDATE {counter} SET v = v + 1 WHERE id = 1;
                        PERFORM set_config('callmedia.{counter}', txid_current()::text, true);
                    END IF;
                """
            : $"UPDATE {counter} SET v = v + 1 WHERE id = 1;";
        sql.Append($"""
            CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                {raise}
            {(notify is null ? "" : $"    PERFORM pg_notify('{notify}', '');\n")}    RETURN NULL;
            END $$;

            """);
        foreach (var table in tables)
        {
            sql.Append($"CREATE TRIGGER tr_{prefix}_{table} {(early ? "BEFORE" : "AFTER")} INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {function}();\n");
        }
    }

    /// <summary>The body of a SQLite trigger that raises <paramref name="counter"/>.</summary>
    public static string SqliteBump(string counter) => $"BEGIN UPDATE {counter} SET v = v + 1 WHERE id = 1; END;\n";
}
