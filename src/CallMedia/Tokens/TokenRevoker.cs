using System.Data.Common;
using CallMedia.Auth;
using CallMedia.Data;
using Dapper;

namespace CallMedia.Tokens;

/// <summary>Revokes tokens inside Auth's transaction when a session or a user ends.</summary>
public sealed class TokenRevoker(Database db) : IGrantRevoker
{
    // PostgreSQL locks the rows a SELECT ... ORDER BY ... FOR UPDATE returns in that order, as a group's redeeming
    // UPDATEs do (RedemptionBatcher: tokens by hash). SQLite runs one writer at a time: nothing to order.
    public Task LockForSessionAsync(DbConnection connection, DbTransaction transaction, string sessionHash) =>
        db.Kind == DbKind.Postgres
            ? connection.ExecuteAsync("SELECT hash FROM tokens WHERE session_hash = @sessionHash ORDER BY hash FOR UPDATE", new { sessionHash }, transaction)
            : Task.CompletedTask;

    public Task LockForUserAsync(DbConnection connection, DbTransaction transaction, long userId) =>
        db.Kind == DbKind.Postgres
            ? connection.ExecuteAsync("SELECT hash FROM tokens WHERE user_id = @userId ORDER BY hash FOR UPDATE", new { userId }, transaction)
            : Task.CompletedTask;

    public Task RevokeForSessionAsync(DbConnection connection, DbTransaction transaction, string sessionHash) =>
        connection.ExecuteAsync("UPDATE tokens SET revoked = 1 WHERE session_hash = @sessionHash", new { sessionHash }, transaction);

    public Task RevokeForUserAsync(DbConnection connection, DbTransaction transaction, long userId) =>
        connection.ExecuteAsync("UPDATE tokens SET revoked = 1 WHERE user_id = @userId", new { userId }, transaction);
}
