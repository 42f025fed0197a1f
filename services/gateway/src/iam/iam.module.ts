import { DynamicModule, Module, Provider } from '@nestjs/common';
import { OBJECT_STORE } from '@flotilla/clients';
import { CONFIG } from '@flotilla/service-kit';
import { CHANGE_FEED, ObjectChangeFeed } from '../resources/change-feed';
import { ResourceApiService } from '../resources/resource-api.service';
import { RESOURCE_KINDS } from '../resources/resource-kind';
import { RESOURCE_AUTHORIZER, ResourceRoutes } from '../resources/resource-routes';
import type { IamConfig } from './iam-config';
import { iamKinds } from './kinds/iam-kinds';

export interface IamModuleOptions {
  /** Provides OBJECT_STORE (the registry's ObjectsClient); exported from here to the whole application. */
  objectStore: Provider;
  /** Provides RESOURCE_AUTHORIZER (a ResourceAuthorizer), when the gateway authorizes Flotilla's own API. */
  authorizer?: Provider;
}

/**
 * Users, tokens, fleet roles and member-access bindings over the generic resource layer (issue 14,
 * ADR 0031). Global, so the IAM mirror, the authenticator and the audit recorder can inject
 * OBJECT_STORE and CHANGE_FEED wherever they live. main.ts mounts `app.get(ResourceRoutes).router()`.
 */
@Module({})
export class IamModule {
  static register(options: IamModuleOptions): DynamicModule {
    return {
      module: IamModule,
      global: true,
      providers: [
        options.objectStore,
        ...(options.authorizer ? [options.authorizer] : []),
        ObjectChangeFeed,
        { provide: CHANGE_FEED, useExisting: ObjectChangeFeed },
        {
          provide: RESOURCE_KINDS,
          inject: [CONFIG],
          useFactory: (config: IamConfig) => iamKinds({ tokenMaxTtlDays: Number(config.FLOTILLA_TOKEN_MAX_TTL_DAYS ?? 365) }),
        },
        ResourceApiService,
        ResourceRoutes,
      ],
      exports: [OBJECT_STORE, CHANGE_FEED, ResourceRoutes, ...(options.authorizer ? [RESOURCE_AUTHORIZER] : [])],
    };
  }
}
