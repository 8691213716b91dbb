using CallMedia.Hosting;

namespace CallMedia.Audit;

public static class AuditRegistration
{
    /// <summary>The hash-chained audit log, its chainer, and the builder of records from requests.</summary>
    public static IServiceCollection AddAudit(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<AuditOptions>(configuration, AuditOptions.Section);
        services.AddSingleton<AuditLog>();
        services.AddSingleton<AuditChain>();
        services.AddSingleton<RequestAudit>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditLog>());
        return services;
    }
}
