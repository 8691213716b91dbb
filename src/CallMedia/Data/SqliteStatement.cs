using System.Collections;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace CallMedia.Data;

/// <summary>
/// One statement compiled once on a kept SQLite connection (<see cref="StatementPipeline.KeepPrepared"/>) and run
/// through SQLite's own interface: values bound by position, the statement stepped, its current row read in place.
/// It is its own reader, reset after every run. A command of the framework's provider allocates per run a reader, a
/// record, a row-id map and a name lookup for every parameter; on the group commit's few statements, run for every
/// request, that was most of what a redemption allocated. Only for a single statement whose parameters are exactly
/// the <see cref="Statement"/>'s, with values of the simple kinds (<see cref="TryBind"/>); anything else runs as a command.
/// </summary>
internal sealed class SqliteStatement : DbDataReader
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _stmt;
    private readonly string[] _names;
    private readonly int[] _slots;
    private int _rc;
    private bool _before;
    private bool _running;
    private bool _freeAfterRun;

    /// <summary>A <see cref="KeyOnlyWrite"/>: the position of its key parameter, -1 for the rowid of the row inserted; null otherwise.</summary>
    private readonly int? _keyFrom;
    private object? _boundKey;
    private object? _key;
    private string _keyName = "";

    /// <summary>Whether it runs a <see cref="KeyOnlyWrite"/>: the write without its RETURNING clause, the key taken from SQLite.</summary>
    public bool KeyOnly => _keyFrom is not null;

    private SqliteStatement(sqlite3 db, sqlite3_stmt stmt, string[] names, int[] slots, int? keyFrom)
    {
        _db = db;
        _stmt = stmt;
        _names = names;
        _slots = slots;
        _keyFrom = keyFrom;
    }

    /// <summary>
    /// Compiles <paramref name="statement"/> (its <see cref="Statement.KeyOnly"/> form when it has one); null when it is
    /// more than one statement or its SQL names other parameters than the statement gives (the command path then runs
    /// it, and reports what is missing).
    /// </summary>
    public static SqliteStatement? TryCompile(SqliteConnection connection, Statement statement)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("the connection is not open");
        var rc = raw.sqlite3_prepare_v2(db, statement.KeyOnly?.Sql ?? statement.Sql, out var stmt, out string tail);
        if (rc != raw.SQLITE_OK)
        {
            stmt?.Dispose();
            SqliteException.ThrowExceptionForRC(rc, db);
        }

        if (stmt is null || stmt.IsInvalid)
        {
            return null;
        }

        var names = Array.ConvertAll(statement.Parameters, p => p.Name);
        var slots = new int[names.Length];
        var fits = string.IsNullOrWhiteSpace(tail) && raw.sqlite3_bind_parameter_count(stmt) == names.Length;
        for (var i = 0; fits && i < names.Length; i++)
        {
            slots[i] = raw.sqlite3_bind_parameter_index(stmt, "@" + names[i]);
            fits = slots[i] > 0 && Array.IndexOf(slots, slots[i]) == i;
        }

        // A key parameter the statement does not have, or key-only SQL that still returns columns: run as a command.
        int? keyFrom = statement.KeyOnly is { } keyOnly ? keyOnly.KeyParameter is { } key ? Array.IndexOf(names, key) is var at and >= 0 ? at : -2 : -1 : null;
        if (!fits || keyFrom is < -1 || (keyFrom is not null && raw.sqlite3_column_count(stmt) != 0))
        {
            stmt.Dispose();
            return null;
        }

        return new SqliteStatement(db, stmt, names, slots, keyFrom)
        {
            ReadOnly = raw.sqlite3_stmt_readonly(stmt) != 0,
            _keyName = statement.KeyOnly?.Column ?? statement.KeyOnly?.KeyParameter ?? "rowid",
        };
    }

    /// <summary>The connection handle it was compiled on: kept statements are good only while the connection still has it.</summary>
    public sqlite3 Handle => _db;

    /// <summary>
    /// Writes nothing. A write runs here only inside a transaction: run on its own, its commit would happen in the
    /// reset after the run, whose failure a reader stopped after one row would never see.
    /// </summary>
    public bool ReadOnly { get; private init; }

    /// <summary>
    /// Binds this run's values: false (nothing run) when the statement names its parameters otherwise than at compile
    /// time, or a value is not of a kind bound here (integers, booleans, text, real numbers, bytes, null).
    /// </summary>
    public bool TryBind(Statement statement)
    {
        var parameters = statement.Parameters;
        if (parameters.Length != _names.Length)
        {
            return false;
        }

        for (var i = 0; i < parameters.Length; i++)
        {
            if (!string.Equals(parameters[i].Name, _names[i], StringComparison.Ordinal) || !Bindable(parameters[i].Value))
            {
                return false;
            }
        }

        if (_keyFrom is >= 0 and var at)
        {
            if (parameters[at].Value is not (long or string))
            {
                return false;
            }

            _boundKey = parameters[at].Value;
        }

        for (var i = 0; i < parameters.Length; i++)
        {
            var slot = _slots[i];
            var rc = parameters[i].Value switch
            {
                null or DBNull => raw.sqlite3_bind_null(_stmt, slot),
                long v => raw.sqlite3_bind_int64(_stmt, slot, v),
                int v => raw.sqlite3_bind_int64(_stmt, slot, v),
                bool v => raw.sqlite3_bind_int64(_stmt, slot, v ? 1 : 0),
                string v => raw.sqlite3_bind_text(_stmt, slot, v),
                double v => raw.sqlite3_bind_double(_stmt, slot, v),
                byte[] v => raw.sqlite3_bind_blob(_stmt, slot, v),
                _ => throw new InvalidOperationException("unreachable: checked by Bindable"),
            };
            Check(rc);
        }

        return true;
    }

    private static bool Bindable(object? value) => value is null or DBNull or long or int or bool or string or double or byte[];

    /// <summary>Runs the bound statement to its first row (or its end): errors surface here, as a command's would.</summary>
    public void Execute()
    {
        _running = true;
        _rc = raw.sqlite3_step(_stmt);
        _before = true;
        if (_rc is not (raw.SQLITE_ROW or raw.SQLITE_DONE))
        {
            Fail();
        }

        if (_keyFrom is { } keyFrom)
        {
            // The one row its RETURNING would have given: the key of the row written, when it wrote exactly one.
            _key = raw.sqlite3_changes(_db) != 1 ? null : keyFrom < 0 ? raw.sqlite3_last_insert_rowid(_db) : _boundKey;
        }
    }

    /// <summary>Runs the bound statement to its end (a write whose result nobody reads).</summary>
    public void ExecuteToEnd()
    {
        Execute();
        while (Read())
        {
        }
    }

    /// <summary>Ready for the next run (called after every run, also a failed one).</summary>
    public void Reset()
    {
        _key = null;
        raw.sqlite3_reset(_stmt);
        _rc = raw.SQLITE_DONE;
        _before = false;
        _running = false;
        if (_freeAfterRun)
        {
            _stmt.Dispose();
        }
    }

    public override bool Read()
    {
        if (_keyFrom is not null)
        {
            var first = _before;
            _before = false;
            return first && _key is not null;
        }

        if (_before)
        {
            _before = false;
            return _rc == raw.SQLITE_ROW;
        }

        if (_rc != raw.SQLITE_ROW)
        {
            return false;
        }

        _rc = raw.sqlite3_step(_stmt);
        if (_rc is not (raw.SQLITE_ROW or raw.SQLITE_DONE))
        {
            Fail();
        }

        return _rc == raw.SQLITE_ROW;
    }

    private void Fail()
    {
        var rc = _rc;
        raw.sqlite3_reset(_stmt);
        _rc = raw.SQLITE_DONE;
        SqliteException.ThrowExceptionForRC(rc, _db);
        throw new InvalidOperationException($"SQLite error {rc}");
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }

    /// <summary>
    /// Finalizes the compiled statement (when its connection stops keeping statements). A run ends with
    /// <see cref="Reset"/>; disposing the reader a caller was handed leaves the statement compiled.
    /// </summary>
    public void Free()
    {
        if (_running)
        {
            _freeAfterRun = true;
            return;
        }

        _stmt.Dispose();
    }

    public override int FieldCount => _keyFrom is null ? raw.sqlite3_column_count(_stmt) : 1;

    public override int RecordsAffected => raw.sqlite3_changes(_db);

    public override bool HasRows => _keyFrom is null ? _rc == raw.SQLITE_ROW : _key is not null;

    public override bool IsClosed => false;

    public override int Depth => 0;

    public override object this[int ordinal] => GetValue(ordinal);

    public override object this[string name] => GetValue(GetOrdinal(name));

    public override bool NextResult() => false;

    public override bool IsDBNull(int ordinal)
    {
        if (_keyFrom is not null)
        {
            _ = KeyAt(ordinal);
            return false;
        }

        return raw.sqlite3_column_type(_stmt, ordinal) == raw.SQLITE_NULL;
    }

    public override long GetInt64(int ordinal) =>
        _keyFrom is not null ? (long)KeyAt(ordinal)
        : IsDBNull(ordinal) ? throw new InvalidCastException($"column {ordinal} is NULL") : raw.sqlite3_column_int64(_stmt, ordinal);

    private static T KeyColumn<T>(int ordinal, T value) =>
        ordinal == 0 ? value : throw new ArgumentOutOfRangeException(nameof(ordinal), $"a key-only write has one column (asked: {ordinal})");

    /// <summary>The one column of a <see cref="KeyOnlyWrite"/>'s one row: the key of the row written.</summary>
    private object KeyAt(int ordinal) =>
        KeyColumn(ordinal, _key) ?? throw new InvalidOperationException("a key-only write that wrote no row has no key to read");

    public override int GetInt32(int ordinal) => checked((int)GetInt64(ordinal));

    public override short GetInt16(int ordinal) => checked((short)GetInt64(ordinal));

    public override byte GetByte(int ordinal) => checked((byte)GetInt64(ordinal));

    public override bool GetBoolean(int ordinal) => GetInt64(ordinal) != 0;

    public override double GetDouble(int ordinal) =>
        _keyFrom is not null ? (long)KeyAt(ordinal)
        : IsDBNull(ordinal) ? throw new InvalidCastException($"column {ordinal} is NULL") : raw.sqlite3_column_double(_stmt, ordinal);

    public override float GetFloat(int ordinal) => (float)GetDouble(ordinal);

    public override decimal GetDecimal(int ordinal) => (decimal)GetDouble(ordinal);

    public override string GetString(int ordinal) =>
        _keyFrom is not null ? (string)KeyAt(ordinal)
        : IsDBNull(ordinal) ? throw new InvalidCastException($"column {ordinal} is NULL") : raw.sqlite3_column_text(_stmt, ordinal).utf8_to_string();

    public override object GetValue(int ordinal) => _keyFrom is not null ? KeyAt(ordinal) : raw.sqlite3_column_type(_stmt, ordinal) switch
    {
        raw.SQLITE_INTEGER => raw.sqlite3_column_int64(_stmt, ordinal),
        raw.SQLITE_FLOAT => raw.sqlite3_column_double(_stmt, ordinal),
        raw.SQLITE_TEXT => GetString(ordinal),
        raw.SQLITE_BLOB => raw.sqlite3_column_blob(_stmt, ordinal).ToArray(),
        _ => DBNull.Value,
    };

    public override int GetValues(object[] values)
    {
        var n = Math.Min(values.Length, FieldCount);
        for (var i = 0; i < n; i++)
        {
            values[i] = GetValue(i);
        }

        return n;
    }

    public override Type GetFieldType(int ordinal) => _keyFrom is not null ? KeyColumn(ordinal, _boundKey?.GetType() ?? typeof(long)) : raw.sqlite3_column_type(_stmt, ordinal) switch
    {
        raw.SQLITE_INTEGER => typeof(long),
        raw.SQLITE_FLOAT => typeof(double),
        raw.SQLITE_BLOB => typeof(byte[]),
        _ => typeof(string),
    };

    public override string GetDataTypeName(int ordinal) =>
        _keyFrom is not null ? KeyColumn(ordinal, _boundKey is string ? "TEXT" : "INTEGER") : raw.sqlite3_column_decltype(_stmt, ordinal).utf8_to_string() ?? "";

    public override string GetName(int ordinal) => _keyFrom is not null ? KeyColumn(ordinal, _keyName) : raw.sqlite3_column_name(_stmt, ordinal).utf8_to_string();

    public override int GetOrdinal(string name)
    {
        for (var i = 0; i < FieldCount; i++)
        {
            if (string.Equals(GetName(i), name, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(name), name, "no such column");
    }

    public override long GetBytes(int ordinal, long dataOffset, byte[]? buffer, int bufferOffset, int length)
    {
        if (_keyFrom is not null)
        {
            throw new InvalidCastException($"a key-only write's key is a number or text, not bytes (column {KeyColumn(ordinal, _keyName)})");
        }

        var blob = raw.sqlite3_column_blob(_stmt, ordinal);
        if (buffer is null)
        {
            return blob.Length;
        }

        var n = (int)Math.Max(0, Math.Min(length, blob.Length - dataOffset));
        blob.Slice((int)dataOffset, n).CopyTo(buffer.AsSpan(bufferOffset));
        return n;
    }

    public override char GetChar(int ordinal) => GetString(ordinal)[0];

    public override long GetChars(int ordinal, long dataOffset, char[]? buffer, int bufferOffset, int length)
    {
        var text = GetString(ordinal);
        if (buffer is null)
        {
            return text.Length;
        }

        var n = (int)Math.Max(0, Math.Min(length, text.Length - dataOffset));
        text.AsSpan((int)dataOffset, n).CopyTo(buffer.AsSpan(bufferOffset));
        return n;
    }

    public override DateTime GetDateTime(int ordinal) => throw new NotSupportedException("dates are stored as numbers here");

    public override Guid GetGuid(int ordinal) => Guid.Parse(GetString(ordinal));

    public override IEnumerator GetEnumerator() => new DbEnumerator(this, closeReader: false);
}
