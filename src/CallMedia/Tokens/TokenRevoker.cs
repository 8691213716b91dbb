using System.Data.Common;
using CallMedia.Auth;
using Dapper;

namespace CallMedia.Tokens;

/// <summary>Revokes tokens inside Auth's transaction when a session or a user ends.</summary>
public sealed class TokenRevoker : IGrantRevoker
{
    public Task RevokeForSessionAsync(DbConnection connection, DbTransaction transaction, string sessionHash) =>
        connection.ExecuteAsync("UPDATE tokens SET revoked = 1 WHERE session_hash = @sessionHash", new { sessionHash }, transaction);

    public Task RevokeForUserAsync(DbConnection connection, DbTransaction transaction, long userId) =>
        connection.ExecuteAsync("UPDATE tokens SET revoked = 1 WHERE user_id = @userId", new { userId }, transaction);
}
