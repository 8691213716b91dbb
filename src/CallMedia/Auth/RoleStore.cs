using CallMedia.Data;
using Dapper;

namespace CallMedia.Auth;

public sealed class RoleSummary
{
    public string Name { get; set; } = "";

    public bool Builtin { get; set; }

    public IReadOnlyList<string> Rights { get; set; } = [];
}

/// <summary>Roles and the rights they grant. The four built-in roles of API.md §8 cannot be changed.</summary>
public sealed class RoleStore(Database db, AuthCache cache)
{
    public async Task<IReadOnlyList<RoleSummary>> ListAsync(CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        var roles = await connection.QueryAsync<(string Name, long Builtin)>("SELECT name, builtin FROM roles ORDER BY name");
        var rights = (await connection.QueryAsync<(string Role, string Right)>("SELECT role, right_name FROM role_rights ORDER BY right_name"))
            .ToLookup(r => r.Role, r => r.Right);
        return roles.Select(r => new RoleSummary { Name = r.Name, Builtin = r.Builtin != 0, Rights = rights[r.Name].ToList() }).ToList();
    }

    public Task AddAsync(string name, IReadOnlyCollection<string> rights, CancellationToken ct = default)
    {
        UserStore.ValidateName(name);
        CheckRights(rights);
        return db.WriteAsync(
            async connection =>
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                if (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM roles WHERE name = @name", new { name }, tx) > 0)
                {
                    throw new AdminException($"role '{name}' already exists");
                }

                await connection.ExecuteAsync("INSERT INTO roles (name, builtin) VALUES (@name, 0)", new { name }, tx);
                await InsertRightsAsync(connection, tx, name, rights);
                await tx.CommitAsync(ct);
                cache.Changed();
                return 0;
            },
            ct);
    }

    public Task GrantAsync(string name, IReadOnlyCollection<string> rights, CancellationToken ct = default) =>
        ChangeAsync(name, rights, async (connection, tx) => await InsertRightsAsync(connection, tx, name, rights), ct);

    public Task RevokeAsync(string name, IReadOnlyCollection<string> rights, CancellationToken ct = default) =>
        ChangeAsync(name, rights, (connection, tx) => connection.ExecuteAsync($"DELETE FROM role_rights WHERE role = @name AND {db.In("right_name", "rights")}", new { name, rights = rights.ToArray() }, tx), ct);

    public Task DeleteAsync(string name, CancellationToken ct = default) =>
        ChangeAsync(name, [], (connection, tx) => connection.ExecuteAsync("DELETE FROM roles WHERE name = @name", new { name }, tx), ct);

    private Task<int> ChangeAsync(string name, IReadOnlyCollection<string> rights, Func<System.Data.Common.DbConnection, System.Data.Common.DbTransaction, Task> change, CancellationToken ct)
    {
        CheckRights(rights);
        return db.WriteAsync(
            async connection =>
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                var builtin = await connection.ExecuteScalarAsync<long?>("SELECT builtin FROM roles WHERE name = @name", new { name }, tx)
                    ?? throw new AdminException($"no role '{name}'");
                if (builtin != 0)
                {
                    throw new AdminException($"role '{name}' is built in and cannot be changed; create a role of your own");
                }

                await change(connection, tx);
                await tx.CommitAsync(ct);
                cache.Changed();
                return 0;
            },
            ct);
    }

    private static async Task InsertRightsAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction tx, string role, IReadOnlyCollection<string> rights)
    {
        foreach (var right in rights.Distinct(StringComparer.Ordinal))
        {
            await connection.ExecuteAsync(
                "INSERT INTO role_rights (role, right_name) SELECT @role, @right WHERE NOT EXISTS (SELECT 1 FROM role_rights WHERE role = @role AND right_name = @right)",
                new { role, right },
                tx);
        }
    }

    private static void CheckRights(IReadOnlyCollection<string> rights)
    {
        var unknown = rights.FirstOrDefault(r => !Rights.All.Contains(r));
        if (unknown is not null)
        {
            throw new AdminException($"unknown right '{unknown}' (rights: {string.Join(", ", Rights.All)})");
        }
    }
}
