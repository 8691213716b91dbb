using System.Data.Common;

namespace CallMedia.Auth;

/// <summary>
/// What Auth needs from whoever hands out grants on a session's behalf (download tokens): to withdraw them in the
/// same transaction that ends the session or the user. Owned here, implemented by Tokens, so Auth never writes
/// another feature's tables and the dependency still points Tokens → Auth.
/// </summary>
/// <remarks>
/// Lock order: the delivery path's group transaction locks grants (tokens, by hash) and then sessions (by hash). A
/// transaction that ends sessions takes the same order: <c>LockFor...</c> first, then its sessions' rows (by hash),
/// then <c>RevokeFor...</c> — so it never holds a session its group waits for while waiting for a token that group
/// holds (on PostgreSQL one of the two would be failed to end the deadlock, perhaps the sign-out).
/// </remarks>
public interface IGrantRevoker
{
    /// <summary>Locks the session's grants, in the delivery path's order, before the session's row is locked.</summary>
    Task LockForSessionAsync(DbConnection connection, DbTransaction transaction, string sessionHash);

    /// <summary>Locks the user's grants, in the delivery path's order, before their sessions' rows are locked.</summary>
    Task LockForUserAsync(DbConnection connection, DbTransaction transaction, long userId);

    Task RevokeForSessionAsync(DbConnection connection, DbTransaction transaction, string sessionHash);

    Task RevokeForUserAsync(DbConnection connection, DbTransaction transaction, long userId);
}
