using System.Data.Common;

namespace CallMedia.Auth;

/// <summary>
/// What Auth needs from whoever hands out grants on a session's behalf (download tokens): to withdraw them in the
/// same transaction that ends the session or the user. Owned here, implemented by Tokens, so Auth never writes
/// another feature's tables and the dependency still points Tokens → Auth.
/// </summary>
public interface IGrantRevoker
{
    Task RevokeForSessionAsync(DbConnection connection, DbTransaction transaction, string sessionHash);

    Task RevokeForUserAsync(DbConnection connection, DbTransaction transaction, long userId);
}
