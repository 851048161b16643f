/**
 * The kestra-fleet CrossGuard pack: `pulumi preview --policy-pack policies`.
 * The only place a PolicyPack is built (building it starts the analyzer server): never import this
 * file from tests or from the program.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./crossguard";

new PolicyPack("kestra-fleet", { policies });
