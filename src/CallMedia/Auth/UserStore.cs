using System.Data.Common;
using CallMedia.Data;
using Dapper;

namespace CallMedia.Auth;

public sealed class UserSummary
{
    public long Id { get; set; }

    public string Name { get; set; } = "";

    public bool Disabled { get; set; }

    public IReadOnlyList<string> Roles { get; set; } = [];

    /// <summary><c>all</c>, or the numbers the user may see.</summary>
    public IReadOnlyList<string> Scope { get; set; } = [];
}

/// <summary>Thrown for an admin request that cannot be carried out; its message is shown to the operator.</summary>
public sealed class AdminException(string message) : Exception(message);

/// <summary>Users, their roles and their call scope.</summary>
public sealed class UserStore(Database db, TimeProvider clock, IGrantRevoker grants, AuthCache cache)
{
    private sealed class LoginRow
    {
        public long Id { get; set; }

        public string PasswordHash { get; set; } = "";

        public long Disabled { get; set; }
    }

    public async Task<(long Id, string PasswordHash, bool Disabled)?> FindForLoginAsync(string name, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<LoginRow>(
            "SELECT id, password_hash, disabled FROM users WHERE name = @name", new { name });
        return row is null ? null : (row.Id, row.PasswordHash, row.Disabled != 0);
    }

    /// <summary>The user, their rights and their scope in one round trip (this runs on every token issue and send).</summary>
    public async Task<UserAccess?> LoadAccessAsync(long userId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        var rows = (await connection.QueryAsync<AccessRow>(
            """
            SELECT 'u' AS kind, name AS value, scope_all, disabled FROM users WHERE id = @userId
            UNION ALL
            SELECT DISTINCT 'r', rr.right_name, 0, 0 FROM user_roles ur JOIN role_rights rr ON rr.role = ur.role WHERE ur.user_id = @userId
            UNION ALL
            SELECT 's', number, 0, 0 FROM user_scopes WHERE user_id = @userId
            """,
            new { userId })).ToList();
        var user = rows.FirstOrDefault(r => r.Kind == "u");
        if (user is null)
        {
            return null;
        }

        var rights = rows.Where(r => r.Kind == "r").Select(r => r.Value).ToHashSet(StringComparer.Ordinal);
        var numbers = rows.Where(r => r.Kind == "s").Select(r => r.Value).ToHashSet(StringComparer.Ordinal);
        return new UserAccess(userId, user.Value, user.Disabled != 0, rights, user.ScopeAll != 0, numbers);
    }

    private sealed class AccessRow
    {
        public string Kind { get; set; } = "";

        public string Value { get; set; } = "";

        public long ScopeAll { get; set; }

        public long Disabled { get; set; }
    }

    public async Task<long> AddAsync(string name, string password, IReadOnlyCollection<string> roles, IReadOnlyCollection<string>? scope, CancellationToken ct = default)
    {
        ValidateName(name);
        ValidatePassword(password);
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        // Two users whose names differ only in letter case, accents or spacing read as one in the audit and in lists:
        // a new name must not fold to an existing one (the search's folding; users are few, compared here).
        var folded = NameFolding.Fold(name);
        var existing = (await connection.QueryAsync<string>("SELECT name FROM users", transaction: tx)).ToList();
        if (existing.Contains(name, StringComparer.Ordinal))
        {
            throw new AdminException($"user '{name}' already exists");
        }

        if (existing.Find(n => NameFolding.Fold(n) == folded) is { } alike)
        {
            throw new AdminException($"user '{alike}' already exists, and '{name}' differs from it only in letter case, accents or spacing");
        }

        await EnsureRolesExistAsync(connection, tx, roles);
        var id = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO users (name, password_hash, scope_all, disabled, created_at) VALUES (@name, @hash, @scopeAll, 0, @now) RETURNING id",
            new { name, hash = PasswordHashing.Hash(password), scopeAll = scope is null ? 1 : 0, now = clock.GetUtcNow().ToUnixTimeMilliseconds() },
            tx);
        foreach (var role in roles.Distinct(StringComparer.Ordinal))
        {
            await connection.ExecuteAsync("INSERT INTO user_roles (user_id, role) VALUES (@id, @role)", new { id, role }, tx);
        }

        await WriteScopeAsync(connection, tx, id, scope);
        await tx.CommitAsync(ct);
        cache.Changed();
        return id;
    }

    public async Task GrantAsync(string name, IReadOnlyCollection<string> roles, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var id = await RequireUserAsync(connection, tx, name);
        await EnsureRolesExistAsync(connection, tx, roles);
        foreach (var role in roles.Distinct(StringComparer.Ordinal))
        {
            await connection.ExecuteAsync(
                "INSERT INTO user_roles (user_id, role) SELECT @id, @role WHERE NOT EXISTS (SELECT 1 FROM user_roles WHERE user_id = @id AND role = @role)",
                new { id, role },
                tx);
        }

        await tx.CommitAsync(ct);

        cache.Changed();
    }

    /// <summary>Takes <paramref name="roles"/> from a user; returns those of them the user did not have (nothing to take).</summary>
    public async Task<IReadOnlyList<string>> RevokeAsync(string name, IReadOnlyCollection<string> roles, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var id = await RequireUserAsync(connection, tx, name);
        await EnsureRolesExistAsync(connection, tx, roles);
        var held = (await connection.QueryAsync<string>("SELECT role FROM user_roles WHERE user_id = @id", new { id }, tx)).ToHashSet(StringComparer.Ordinal);
        await connection.ExecuteAsync($"DELETE FROM user_roles WHERE user_id = @id AND {db.In("role", "roles")}", new { id, roles = roles.ToArray() }, tx);
        await tx.CommitAsync(ct);
        cache.Changed();
        return roles.Distinct(StringComparer.Ordinal).Where(r => !held.Contains(r)).ToList();
    }

    /// <summary>Sets the call scope: null means <c>all</c>.</summary>
    public async Task SetScopeAsync(string name, IReadOnlyCollection<string>? scope, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var id = await RequireUserAsync(connection, tx, name);
        await connection.ExecuteAsync("UPDATE users SET scope_all = @all WHERE id = @id", new { id, all = scope is null ? 1 : 0 }, tx);
        await connection.ExecuteAsync("DELETE FROM user_scopes WHERE user_id = @id", new { id }, tx);
        await WriteScopeAsync(connection, tx, id, scope);
        await tx.CommitAsync(ct);
        cache.Changed();
    }

    /// <summary>Disables (or enables) a user; disabling ends their sessions and unused tokens at once.</summary>
    public async Task SetDisabledAsync(string name, bool disabled, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var id = await RequireUserAsync(connection, tx, name);
        await connection.ExecuteAsync("UPDATE users SET disabled = @d WHERE id = @id", new { id, d = disabled ? 1 : 0 }, tx);
        if (disabled)
        {
            await EndEverySessionAsync(connection, tx, id);
        }

        await tx.CommitAsync(ct);

        cache.Changed();
    }

    /// <summary>Sets a user's password; like disabling, it ends their sessions and unused tokens at once, in the same transaction.</summary>
    public async Task SetPasswordAsync(string name, string password, CancellationToken ct = default)
    {
        ValidatePassword(password);
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var id = await RequireUserAsync(connection, tx, name);
        await connection.ExecuteAsync("UPDATE users SET password_hash = @hash WHERE id = @id", new { id, hash = PasswordHashing.Hash(password) }, tx);
        await EndEverySessionAsync(connection, tx, id);
        await tx.CommitAsync(ct);
        cache.Changed();
    }

    private async Task EndEverySessionAsync(DbConnection connection, DbTransaction tx, long id)
    {
        // In a group commit's lock order (IGrantRevoker): the tokens, then the sessions by hash (as token issues lock them).
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await grants.LockForUserAsync(connection, tx, id);
        await connection.ExecuteAsync(
            db.Kind == DbKind.Postgres
                ? "UPDATE sessions SET ended_at = @now WHERE id_hash IN (SELECT id_hash FROM sessions WHERE user_id = @id AND ended_at IS NULL ORDER BY id_hash FOR UPDATE)"
                : "UPDATE sessions SET ended_at = @now WHERE user_id = @id AND ended_at IS NULL",
            new { id, now },
            tx);
        await grants.RevokeForUserAsync(connection, tx, id);
    }

    public async Task<IReadOnlyList<UserSummary>> ListAsync(CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        var users = (await connection.QueryAsync<(long Id, string Name, long ScopeAll, long Disabled)>(
            "SELECT id, name, scope_all, disabled FROM users ORDER BY name")).ToList();
        var roles = (await connection.QueryAsync<(long UserId, string Role)>("SELECT user_id, role FROM user_roles ORDER BY role"))
            .ToLookup(r => r.UserId, r => r.Role);
        var scopes = (await connection.QueryAsync<(long UserId, string Number)>("SELECT user_id, number FROM user_scopes ORDER BY number"))
            .ToLookup(r => r.UserId, r => r.Number);
        return users.Select(u => new UserSummary
        {
            Id = u.Id,
            Name = u.Name,
            Disabled = u.Disabled != 0,
            Roles = roles[u.Id].ToList(),
            Scope = u.ScopeAll != 0 ? ["all"] : scopes[u.Id].ToList(),
        }).ToList();
    }

    /// <summary>
    /// A new user's name: 1 to 128 printable characters, none of them invisible — no control or format characters
    /// (right-to-left overrides, zero-width spaces), no line or paragraph separators, no space at either end — so two
    /// names that look the same in the audit or a list are the same name (up to letter case and lookalike letters).
    /// </summary>
    public static void ValidateName(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 128 || name.Trim().Length != name.Length || !Visible(name))
        {
            throw new AdminException("a user name is 1 to 128 printable characters, with no space at either end and no invisible characters");
        }

        static bool Visible(string text)
        {
            var rest = text.AsSpan();
            while (!rest.IsEmpty)
            {
                // A lone surrogate is no character at all.
                if (System.Text.Rune.DecodeFromUtf16(rest, out var rune, out var used) != System.Buffers.OperationStatus.Done
                    || System.Text.Rune.IsControl(rune)
                    || System.Text.Rune.GetUnicodeCategory(rune) is System.Globalization.UnicodeCategory.Format or System.Globalization.UnicodeCategory.LineSeparator or System.Globalization.UnicodeCategory.ParagraphSeparator)
                {
                    return false;
                }

                rest = rest[used..];
            }

            return true;
        }
    }

    private static void ValidatePassword(string password)
    {
        if (password.Length < 4 || password.Length > 1024)
        {
            throw new AdminException("a password is 4 to 1024 characters");
        }
    }

    private static async Task<long> RequireUserAsync(DbConnection connection, DbTransaction tx, string name) =>
        await connection.ExecuteScalarAsync<long?>("SELECT id FROM users WHERE name = @name", new { name }, tx)
        ?? throw new AdminException($"no user '{name}'");

    private static async Task EnsureRolesExistAsync(DbConnection connection, DbTransaction tx, IReadOnlyCollection<string> roles)
    {
        var known = (await connection.QueryAsync<string>("SELECT name FROM roles", transaction: tx)).ToHashSet(StringComparer.Ordinal);
        var unknown = roles.Where(r => !known.Contains(r)).ToList();
        if (unknown.Count > 0)
        {
            throw new AdminException($"unknown role '{unknown[0]}' (roles: {string.Join(", ", known.Order(StringComparer.Ordinal))})");
        }
    }

    private static async Task WriteScopeAsync(DbConnection connection, DbTransaction tx, long id, IReadOnlyCollection<string>? scope)
    {
        foreach (var number in (scope ?? []).Distinct(StringComparer.Ordinal))
        {
            await connection.ExecuteAsync("INSERT INTO user_scopes (user_id, number) VALUES (@id, @number)", new { id, number }, tx);
        }
    }
}
