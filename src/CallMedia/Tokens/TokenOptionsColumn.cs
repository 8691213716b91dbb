namespace CallMedia.Tokens;

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
