using CallMedia.Auth;
using CallMedia.Data;
using Dapper;

namespace CallMedia.Tokens;

/// <summary>
/// The delivery options a token was issued with (<c>tokens.options</c>, JSON; NULL for the tokens old clients ask
/// for), opaque to the token service: written in the token's own INSERT (<see cref="TokenService.IssueWithinWindowAsync"/>)
/// and read by delivery.
/// </summary>
public sealed class TokenOptionsColumn(Database db)
{
    public async Task<string?> LoadAsync(string token, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<string?>("SELECT options FROM tokens WHERE hash = @hash", new { hash = Secrets.HashToken(token) });
    }
}

/// <summary>What a token request adds to its criteria: the delivery options to store (JSON, or null) and their check against the couples.</summary>
public sealed record TokenExtras(string? Options, Func<IReadOnlyList<long>, CancellationToken, Task<string?>>? Vet)
{
    public static readonly TokenExtras None = new(null, null);
}

/// <summary>Reads the optional delivery parameters of a Download Token Service request (implemented by delivery).</summary>
public interface ITokenExtrasReader
{
    /// <summary>Throws <see cref="Hosting.ParameterException"/> naming a bad parameter.</summary>
    TokenExtras Read(Hosting.CallRecParameters parameters, TokenCriteria criteria);
}
